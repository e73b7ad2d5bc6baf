/**
 * A worker among several: it holds a salon only while it drives it, under a lease kept in the record, for as long
 * as the salon has something to do now; then it hands it back to the job queue (Wakeups) for its next step.
 * Everything a cluster changes in the engine is here; the one-process paths know nothing of leases.
 *
 * Taking, renewing and releasing the lease are conditional saves; the lease's fence (fence.ts) stops this
 * process from saving or posting the moment the lease may be someone else's.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CLOCK_SKEW_MS, heldElsewhere, releaseLease, stillHeld, takeLease } from '../domain/lease.js';
import { dueAt, isActive, isLive, type SalonHead, type SalonRecord } from '../domain/salon.js';
import { Fence, FENCE_MARGIN_MS, FenceDownError } from './fence.js';
import type { Holding } from './holding.js';
import { StaleRecordError, type Clock, type DriveResult, type Driver, type SalonStore, type Wakeups } from './ports.js';
import { copyForChange } from './record-copy.js';
import { isLetGo, Room, type Step } from './room.js';
import { MAX_SAVE_ATTEMPTS, staleReason, type Rooms } from './rooms.js';

export interface LeasedDriverDeps {
  rooms: Rooms;
  store: SalonStore;
  wakeups: Wakeups;
  clock: Clock;
  log: Logger;
  scheduleNext(room: Room): void;
  /** Tells the engine's listeners of a save the change path did not make (taking and releasing a lease). */
  saved(salon: SalonRecord): void;
  stopped(): boolean;
  /** How long a lease lasts without renewal; renewed every third of it. */
  leaseMs: number;
  /** How long before its lease ends the worker stops saving and posting: more than any request of its may take. */
  fenceMarginMs?: number;
  /** Names this process in leases. */
  workerId: string;
}

export class LeasedDriver implements Holding, Driver {
  /** Salons being driven right now; shutdown waits for each to be handed back. */
  private readonly drives = new Set<Promise<DriveResult>>();

  constructor(private readonly deps: LeasedDriverDeps) {}

  drive(id: string): Promise<DriveResult> {
    const { rooms, clock, leaseMs } = this.deps;
    // Failing the job makes the queue give it to another worker after a short backoff.
    if (this.deps.stopped()) return Promise.reject(new Error('this worker is shutting down'));
    // Already driven here (the queue ran its job twice): that drive arranges what comes next.
    if (rooms.has(id)) return Promise.resolve({ outcome: 'busy', until: clock.now() + leaseMs });
    const driving = this.driveOnce(id);
    this.drives.add(driving);
    void driving.finally(() => this.drives.delete(driving)).catch(() => {});
    return driving;
  }

  // --- Holding: salons are taken one at a time, as their wake-ups come.

  start(): Promise<{ resumed: number; skipped: number }> {
    return Promise.resolve({ resumed: 0, skipped: 0 });
  }

  /** No process holds them all: their heads come from the store, without their turns. */
  async activeSalons(): Promise<SalonHead[]> {
    return (await this.deps.store.activeHeads()).filter(isActive);
  }

  async findActive(id: string): Promise<SalonRecord | undefined> {
    const salon = await this.deps.store.get(id);
    return salon && isActive(salon) ? salon : undefined;
  }

  /** Any deleted thread may be a salon's that some worker drives: the store says. */
  async mayBeLiveElsewhere(id: string): Promise<boolean> {
    const salon = await this.deps.store.get(id).catch(() => undefined);
    return salon !== undefined && isLive(salon);
  }

  /** A salon changed here but driven elsewhere (a command) is woken for its next step; a held one is handed back by its drive. */
  async saved(salon: SalonRecord, room: Room | undefined): Promise<void> {
    if (!room) await this.wakeFor(salon);
  }

  /**
   * A save found the salon changed elsewhere. A lease still this process's takes the stored record as its own (the
   * change was a command taken by a gateway); otherwise the salon is let go.
   */
  async stale(room: Room, err: StaleRecordError): Promise<boolean> {
    const lease = room.lease;
    const fresh = lease ? await this.deps.store.get(room.id) : undefined;
    if (!lease || !fresh || !stillHeld(fresh, lease.owner, lease.epoch)) {
      this.deps.rooms.release(room.id, staleReason(err));
      return false;
    }
    const was = room.record;
    room.record = fresh;
    // Closed elsewhere while a turn was being written: stop writing it, as a close taken here would.
    if (fresh.status === 'closed' && was.status !== 'closed') room.writing?.abort();
    this.deps.scheduleNext(room);
    return true;
  }

  /** A step not due yet goes back to the job queue rather than holding a timer here. */
  defer(_room: Room, step: Step, at: number): boolean {
    step.dueAt = at;
    return true;
  }

  async stop(): Promise<void> {
    // Each salon in hand is handed back, with a wake-up for at once, so another worker carries on without waiting out the lease.
    await Promise.all(this.drives);
  }

  // --- Driving

  private async driveOnce(id: string): Promise<DriveResult> {
    const { rooms, clock, leaseMs } = this.deps;
    const owner = `${this.deps.workerId}:${randomUUID().slice(0, 8)}`;
    const taken = await rooms.exclusive(id, () => this.take(id, owner));
    if (!('room' in taken)) return taken;
    const { room } = taken;
    const log = this.deps.log.child({ salonId: id, lease: room.lease?.epoch });
    // A renewal that finds the salon already handed back (or let go) has nothing to renew: not worth a warning.
    const renewFailed = (err: unknown) => isLetGo(err) || log.warn({ err }, 'could not renew the lease');
    const renewal = setInterval(() => void this.renew(room).catch(renewFailed), leaseMs / 3);
    renewal.unref();
    try {
      for (;;) {
        this.deps.scheduleNext(room);
        await room.whenIdle();
        if (room.disposed) {
          // Lost midway: whoever holds it now has its own wake-ups; if nobody does (this process could not renew in
          // time), this one makes sure the salon is not forgotten once the lease has run out.
          await this.deps.wakeups
            .wake(id, room.record.version, clock.now() + leaseMs + CLOCK_SKEW_MS)
            .catch((err: unknown) => log.warn({ err }, 'could not arrange a look at the salon after losing it; the sweep will'));
          return { outcome: 'lost' };
        }
        const handed = await rooms.exclusive(id, () => this.handBack(room));
        if (handed) return handed;
      }
    } finally {
      clearInterval(renewal);
      if (rooms.get(id) === room) rooms.forget(room);
      room.lease?.fence.lower();
    }
  }

  /** In the salon's queue: takes its lease, or says why not. */
  private async take(id: string, owner: string): Promise<DriveResult | { room: Room }> {
    const { store, clock, leaseMs, rooms } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const salon = await store.get(id);
      if (!salon || !isLive(salon)) return { outcome: 'absent' };
      const now = clock.now();
      const other = heldElsewhere(salon, owner, now);
      if (other) {
        await this.deps.wakeups.wake(id, salon.version, other.until + CLOCK_SKEW_MS);
        return { outcome: 'busy', until: other.until };
      }
      // Whatever the last holder had in flight may have gone out unrecorded, unless it let go cleanly.
      const uncertain = salon.lease !== undefined && !salon.lease.released;
      const draft = copyForChange(salon);
      const lease = takeLease(draft, owner, now, leaseMs);
      draft.version = salon.version + 1;
      const sentAt = performance.now();
      try {
        await store.save(draft, { expected: salon.version, turns: [] });
      } catch (err) {
        if (err instanceof StaleRecordError && attempt < MAX_SAVE_ATTEMPTS) continue;
        throw err;
      }
      const room = new Room(draft, uncertain);
      const margin = this.deps.fenceMarginMs ?? Math.min(FENCE_MARGIN_MS, leaseMs / 4);
      room.lease = { owner, epoch: lease.epoch, fence: new Fence(id, sentAt, leaseMs, margin) };
      // A thread that refused posts waits for someone to resume the salon; trying again on every wake-up would not help.
      room.undeliverable = draft.status === 'paused' && draft.pausedReason?.code === 'undeliverable';
      // Stop everything the moment the lease may be someone else's. (A room handed back has left `rooms` first.)
      room.lease.fence.signal.addEventListener('abort', () => rooms.get(id) === room && rooms.release(id, 'lease over'), { once: true });
      rooms.hold(room);
      this.deps.saved(draft);
      return { room };
    }
  }

  private async renew(room: Room): Promise<void> {
    const lease = room.lease;
    if (!lease || room.disposed) return;
    const sentAt = performance.now();
    await this.deps.rooms.changeQueued(room, (draft, now) => void takeLease(draft, lease.owner, now, this.deps.leaseMs));
    lease.fence.renewed(sentAt);
  }

  /**
   * In the salon's queue, once idle: arranges the next step, then releases the lease. Undefined when the salon
   * changed meanwhile (a command came in) and has work again, so the drive goes on.
   */
  private async handBack(room: Room): Promise<DriveResult | undefined> {
    const { rooms, store, clock } = this.deps;
    if (room.disposed || !room.idle) return undefined;
    const now = clock.now();
    const salon = room.record;
    // After a stop, carry on at once elsewhere; otherwise when the room said its next step is due.
    const due = this.deps.stopped() ? dueAt(salon) : minDefined(room.write.dueAt, room.deliver.dueAt);
    // Arranged before the lease is released: a command saved after this sees the release and wakes the salon itself.
    if (due !== undefined) await this.deps.wakeups.wake(room.id, salon.version, Math.max(due, now));
    const draft = copyForChange(salon);
    releaseLease(draft, now);
    draft.version = salon.version + 1;
    try {
      room.fence.check();
      await store.save(draft, { expected: salon.version, turns: [] });
    } catch (err) {
      if (err instanceof FenceDownError) rooms.release(room.id, 'lease over');
      // Changed meanwhile (a command): look again at what it needs before letting go.
      else if (err instanceof StaleRecordError && (await this.stale(room, err))) return undefined;
      if (room.disposed) return undefined;
      throw err;
    }
    room.record = draft;
    // Out of `rooms` before the fence goes down, so lowering it is not taken for a lost lease.
    rooms.forget(room);
    this.deps.saved(draft);
    return { outcome: 'done', wakeAt: due };
  }

  /** Arranges the next step of a salon this process does not hold. Best effort: a lost wake-up is found again by the sweep. */
  private async wakeFor(salon: SalonRecord): Promise<void> {
    const at = dueAt(salon);
    if (at === undefined) return;
    await this.deps.wakeups.wake(salon.id, salon.version, at).catch((err: unknown) => {
      this.deps.log.warn({ salonId: salon.id, err }, "could not arrange the salon's next step; the sweep will");
    });
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
