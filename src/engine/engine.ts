/**
 * Runs salons: takes each salon's next turn when it is due and delivers what the salon owes its thread.
 *
 * Every change to a salon goes through one queue per salon, so a pause, a question or a close that arrives
 * while a model is writing is applied before or after the turn's commit, never in the middle of it. The model
 * call itself runs outside the queue (see turn-writer.ts), and so does posting (see delivery.ts).
 *
 * Exactly once: a turn is generated, then committed to the record together with an outbox entry in one save,
 * then delivered, then removed from the outbox in another save. A process killed before the commit regenerates
 * the turn; one killed after it re-delivers from the outbox, and the publisher's idempotency key (plus the part
 * ids recorded during delivery) keeps that from showing twice.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { SalonError } from '../domain/errors.js';
import { heldElsewhere, releaseLease, stillHeld, takeLease, CLOCK_SKEW_MS } from '../domain/lease.js';
import {
  createSalon,
  dueAt,
  isActive,
  isLive,
  nextTurn,
  type Interjection,
  type NewSalon,
  type Post,
  type SalonHead,
  type SalonRecord,
  type Seat,
} from '../domain/salon.js';
import * as transitions from '../domain/transitions.js';
import { deliverOutbox } from './delivery.js';
import { KeyedQueue } from './keyed-queue.js';
import { Fence, FENCE_MARGIN_MS, FenceDownError } from './fence.js';
import { RecordError, StaleRecordError, type Clock, type ModelClient, type Publisher, type SalonStore, type Wakeups } from './ports.js';
import { copyForChange, changedTurns } from './record-copy.js';
import { later, Room, RoomGoneError } from './room.js';
import { letGo, synthesizerFor, TurnWriter } from './turn-writer.js';

export interface EngineOptions {
  config: Config;
  store: SalonStore;
  models: ModelClient;
  publisher: Publisher;
  log: Logger;
  clock?: Clock;
  /** Engine-level attempts for a failing model, after the client's own retries. */
  modelRetry?: transitions.RetryPolicy;
  /** Backoff for deliveries that failed in a way that may pass (Discord 5xx, network). */
  deliveryBackoffMs?: (attempt: number) => number;
  /**
   * 'all' (one process per store, the default): the engine loads every live salon at start and drives each on its
   * own timers. 'leased' (a pool of workers sharing the store): it drives a salon only inside drive(), under a
   * lease, and hands it back to `wakeups` when its next step is not due yet; a command changes the store and
   * wakes the salon, wherever it is driven.
   */
  driving?: 'all' | 'leased';
  wakeups?: Wakeups;
  /** How long a lease lasts without renewal ('leased' only); renewed every third of it. */
  leaseMs?: number;
  /** How long before its lease ends a worker stops saving and posting: more than any request of its may take. */
  fenceMarginMs?: number;
  /** Names this process in leases and logs. */
  workerId?: string;
}

/** How a drive() ended. */
export type DriveResult =
  /** Handed back: nothing more to do now; the next step is arranged for `wakeAt`, if any. */
  | { outcome: 'done'; wakeAt?: number }
  /** Another worker holds the salon's lease until `until`; a wake-up for then is arranged. */
  | { outcome: 'busy'; until: number }
  /** The lease was lost midway (another worker took over, or this one could not renew it in time). */
  | { outcome: 'lost' }
  /** No such salon, or nothing left to do for it ever. */
  | { outcome: 'absent' };

/** Saves a change may retry when another process changed the salon meanwhile (a command racing a turn). */
const MAX_SAVE_ATTEMPTS = 10;

export interface EngineEvents {
  /** After every saved change. */
  saved: [salon: SalonRecord];
  /** After each post the record says is out. */
  delivered: [salon: SalonRecord, post: Post];
}

const DEFAULT_MODEL_RETRY: transitions.RetryPolicy = {
  maxAttempts: 3,
  backoffMs: (attempt) => [30_000, 120_000, 600_000][attempt - 1] ?? 600_000,
};

type Change = (draft: SalonRecord, now: number) => void;

export class SalonEngine extends EventEmitter<EngineEvents> {
  private readonly queue = new KeyedQueue();
  /** Salons the engine keeps in memory: those that may take turns or still owe a post. */
  private readonly rooms = new Map<string, Room>();
  /** Delivery loops running, including those of salons just forgotten: shutdown waits for their last save. */
  private readonly deliveries = new Set<Promise<unknown>>();
  private readonly clock: Clock;
  private readonly deliveryBackoffMs: (attempt: number) => number;
  private readonly writer: TurnWriter;
  /** Salons being driven under a lease right now ('leased'); shutdown waits for each to be handed back. */
  private readonly drives = new Set<Promise<DriveResult>>();
  private readonly leaseMs: number;
  private readonly workerId: string;
  private stopped = false;

  constructor(private readonly options: EngineOptions) {
    super();
    this.clock = options.clock ?? { now: () => Date.now() };
    this.deliveryBackoffMs = options.deliveryBackoffMs ?? ((n) => Math.min(300_000, 1_000 * 2 ** (n - 1)));
    this.leaseMs = options.leaseMs ?? 30_000;
    this.workerId = options.workerId ?? randomUUID().slice(0, 8);
    if (options.driving === 'leased' && !options.wakeups) throw new Error('a leased engine needs wakeups');
    this.writer = new TurnWriter({
      config: options.config,
      models: options.models,
      publisher: options.publisher,
      clock: this.clock,
      log: options.log,
      modelRetry: options.modelRetry ?? DEFAULT_MODEL_RETRY,
      exclusive: (room, task) => this.queue.run(room.id, task),
      applyNow: (room, apply) => this.applyInRoom(room, apply),
      change: (room, apply) => this.changeRoom(room, apply),
    });
  }

  private get log(): Logger {
    return this.options.log;
  }

  /** Loads every salon that is not done and carries on with it. Unreadable records are logged and skipped. */
  async start(): Promise<{ resumed: number; skipped: number }> {
    // Leased salons are taken one at a time, as their wake-ups come.
    if (this.leased) return { resumed: 0, skipped: 0 };
    const ids = await this.options.store.activeIds();
    let resumed = 0;
    let skipped = 0;
    // Load in slices: enough parallelism to hide store latency without a thousand queries at once.
    for (let i = 0; i < ids.length; i += 64) {
      await Promise.all(
        ids.slice(i, i + 64).map(async (id) => {
          try {
            const salon = await this.options.store.get(id);
            if (!salon || !isLive(salon)) return;
            this.rooms.set(id, new Room(salon, true));
            resumed += 1;
          } catch (err) {
            skipped += 1;
            this.log.error({ salonId: id, err: err instanceof RecordError ? err.message : err }, 'cannot read salon record; skipping it');
          }
        }),
      );
    }
    // Everything loaded first, then set going: starting turns while still loading slows both.
    for (const id of this.rooms.keys()) this.kick(id);
    this.log.info({ resumed, skipped }, 'engine started');
    return { resumed, skipped };
  }

  /** Stops scheduling, aborts model requests in flight and waits for changes under way to be saved. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const room of this.rooms.values()) {
      room.cancelWork();
      room.deliveryTimer?.cancel();
      room.writing?.abort();
    }
    this.options.models.close();
    // Delivery loops end after the post in hand; their last record change must land before the store closes.
    await Promise.all(this.deliveries);
    // A leased salon is handed back, with a wake-up for at once, so another worker carries on without waiting out the lease.
    await Promise.all(this.drives);
    await this.queue.drain();
  }

  private get leased(): boolean {
    return this.options.driving === 'leased';
  }

  /** Salons that are running or paused: what access limits count. */
  async activeSalons(): Promise<SalonHead[]> {
    if (!this.leased) return [...this.rooms.values()].map((room) => room.record).filter(isActive);
    // No process holds them all: their heads come from the store, without their turns.
    return (await this.options.store.activeHeads()).filter(isActive);
  }

  /**
   * Creates a salon. `admit` runs first, inside one queue for all creations, with the salons active at that
   * moment: two starts at once cannot both slip under a limit.
   */
  async create(input: NewSalon, admit?: (active: SalonHead[]) => void): Promise<SalonRecord> {
    return this.queue.run('\u0000admission', () =>
      this.queue.run(input.id, async () => {
        admit?.(await this.activeSalons());
        if (this.rooms.has(input.id) || (await this.options.store.get(input.id).catch(() => undefined))) {
          throw new SalonError({ code: 'salon_exists' });
        }
        const salon = createSalon(input, this.clock.now());
        await this.options.store.save(salon).catch((err: unknown) => {
          throw err instanceof StaleRecordError ? new SalonError({ code: 'salon_exists' }) : err;
        });
        this.log.child({ salonId: salon.id }).info({ topic: salon.topic, rounds: salon.rounds, seats: salon.seats }, 'salon created');
        if (this.leased) {
          await this.wakeFor(salon);
        } else {
          this.rooms.set(salon.id, new Room(salon));
          this.kick(salon.id);
        }
        return salon;
      }),
    );
  }

  /**
   * The record of a salon the engine keeps in memory (running, paused, or finished with posts still owed),
   * without a store read; undefined for any other.
   */
  loaded(id: string): SalonRecord | undefined {
    return this.rooms.get(id)?.record;
  }

  /** The current record: from memory for live salons, else from the store. */
  async get(id: string): Promise<SalonRecord | undefined> {
    return this.loaded(id) ?? (await this.options.store.get(id));
  }

  /**
   * The salon a thread message may be for: one that is running or paused. Without a store read where the engine
   * holds every live salon; from the store where salons are driven elsewhere.
   */
  async findActive(id: string): Promise<SalonRecord | undefined> {
    const salon = this.leased ? await this.options.store.get(id) : this.loaded(id);
    return salon && isActive(salon) ? salon : undefined;
  }

  async ask(
    id: string,
    input: transitions.InterjectionInput,
  ): Promise<{ salon: SalonRecord; interjection: Interjection; answeredIn: { index: number; round: number; seat: Seat } }> {
    let added!: ReturnType<typeof transitions.addInterjection>;
    const salon = await this.change(id, (s, now) => {
      const turnInFlight = this.rooms.get(id)?.writing !== undefined;
      added = transitions.addInterjection(s, input, now, { turnInFlight, maxPending: this.options.config.salon.maxPendingQuestions });
    });
    return { salon, ...added };
  }

  /** Adds rounds; a finished salon carries on at once. */
  async extend(id: string, rounds: number): Promise<SalonRecord> {
    const salon = await this.change(id, (s, now) => transitions.extend(s, rounds, now));
    this.kick(id);
    return salon;
  }

  /** No further turn starts; what the salon owes the thread (a turn being written included) still goes out. */
  async pause(id: string): Promise<SalonRecord> {
    return this.change(id, (s, now) => transitions.pause(s, now));
  }

  async resume(id: string, options: { budgetUSD?: number } = {}): Promise<SalonRecord> {
    const salon = await this.change(id, (s, now) => transitions.resume(s, now, options));
    this.retryDelivery(id);
    return salon;
  }

  /** The thread is gone for good (deleted): the salon is closed and owes it nothing more. */
  async threadGone(id: string, reason = 'the thread was deleted'): Promise<void> {
    const room = this.rooms.get(id);
    // Discord may tell twice (the gateway event, and a post refused as Unknown Channel): act and log once.
    if (room?.abandoning) return;
    // Where salons are driven elsewhere, any deleted thread may be a salon's: the store says.
    if (!room && !(this.leased && (await this.isLiveInStore(id)))) return;
    if (room) room.abandoning = true;
    try {
      this.log.child({ salonId: id }).warn({ reason }, 'the thread is gone; closing the salon');
      await this.change(id, (s, now) => {
        transitions.abandon(s, now);
        this.rooms.get(id)?.writing?.abort();
      });
    } finally {
      if (room) room.abandoning = false;
    }
  }

  /**
   * Closes the salon at once: a model still writing is stopped, and the archive goes out after anything owed,
   * and after a synthesis when `synthesis` (or, when unset, the config) asks for one.
   */
  async close(id: string, options: { synthesis?: boolean } = {}): Promise<SalonRecord> {
    const salon = await this.change(id, (s, now) => {
      transitions.close(s, now, { synthesizer: synthesizerFor(this.options.config, s, options.synthesis) });
      // Stop a model still writing, but only once this close is certain (a second close is refused above),
      // and inside the queue, so a turn about to start cannot slip past it.
      this.rooms.get(id)?.writing?.abort();
    });
    this.retryDelivery(id);
    return salon;
  }

  private async isLiveInStore(id: string): Promise<boolean> {
    const salon = await this.options.store.get(id).catch(() => undefined);
    return salon !== undefined && isLive(salon);
  }

  /** Forgets past delivery failures, so a thread that refused posts is tried again (after resume or close). */
  private retryDelivery(id: string): void {
    this.rooms.get(id)?.resetDelivery();
    this.kick(id);
  }

  /**
   * Applies one change to a salon: on a copy, so a refused change leaves the record untouched, then saved on the
   * condition that nobody saved another version meanwhile. Only inside the salon's queue; everything else calls
   * `change`.
   *
   * When another process did save meanwhile: a salon this process drives alone ('all') is let go, since someone
   * else drives it now; a leased one is read again and the change applied anew, so long as the lease is still
   * this process's (a command taken by a gateway raced the turn); and a salon driven elsewhere (a command here) is
   * read again and the change applied anew.
   */
  private async applyNow(id: string, apply: Change): Promise<SalonRecord> {
    for (let attempt = 1; ; attempt++) {
      const room = this.rooms.get(id);
      const current = room?.record ?? (await this.options.store.get(id));
      if (!current) throw new SalonError({ code: 'no_salon' });
      const draft = copyForChange(current);
      apply(draft, this.clock.now());
      draft.version = current.version + 1;
      try {
        room?.lease?.fence.check();
        await this.options.store.save(draft, { expected: current.version, turns: changedTurns(current, draft) });
      } catch (err) {
        if (err instanceof FenceDownError) {
          this.letGo(id, 'lease over');
          throw err;
        }
        if (!(err instanceof StaleRecordError)) throw err;
        if (room && !(await this.stillOurs(room, err))) throw err;
        if (attempt >= MAX_SAVE_ATTEMPTS) throw err;
        continue;
      }
      this.saved(id, draft);
      return draft;
    }
  }

  /** Keeps the engine's view in step with a change just saved. */
  private saved(id: string, salon: SalonRecord): void {
    const room = this.rooms.get(id);
    if (room) {
      room.record = salon;
      // A leased room is handed back by its drive; any other that has nothing more to do is dropped.
      if (!isLive(salon) && !room.lease) {
        room.dispose();
        this.rooms.delete(id);
      }
    } else if (this.leased) {
      void this.wakeFor(salon);
    } else if (isLive(salon)) {
      this.rooms.set(id, new Room(salon));
    }
    this.emit('saved', salon);
  }

  /**
   * After a save found the salon changed by someone else: whether this process may go on with it. A leased room
   * whose lease is still this process's takes the stored record as its own (the change was a command); any other
   * room is let go.
   */
  private async stillOurs(room: Room, err: StaleRecordError): Promise<boolean> {
    const lease = room.lease;
    const fresh = lease ? await this.options.store.get(room.id) : undefined;
    if (!lease || !fresh || !stillHeld(fresh, lease.owner, lease.epoch)) {
      this.letGo(room.id, `version ${err.found ?? '(none)'} found, ${err.expected ?? '(none)'} expected`);
      return false;
    }
    const was = room.record;
    room.record = fresh;
    // Closed elsewhere while a turn was being written: stop writing it, as a close taken here would.
    if (fresh.status === 'closed' && was.status !== 'closed') room.writing?.abort();
    this.kick(room.id);
    return true;
  }

  /** Arranges the next step of a salon this process does not drive. Best effort: a lost wake-up is found again by the sweep. */
  private async wakeFor(salon: SalonRecord): Promise<void> {
    const at = dueAt(salon);
    if (at === undefined) return;
    await this.options.wakeups?.wake(salon.id, salon.version, at).catch((err: unknown) => {
      this.log.warn({ salonId: salon.id, err }, "could not arrange the salon's next step; the sweep will");
    });
  }

  /**
   * Another process has changed the salon since this one read it: it has taken the salon over (this one stalled
   * past its lease, or a command was taken elsewhere). Whatever this process still had in hand for it is dropped
   * unsaved and unposted; the salon goes on where it is now driven.
   */
  private letGo(id: string, why: string): void {
    this.log.child({ salonId: id }).warn({ why }, 'salon changed elsewhere or lease over; letting it go');
    const room = this.rooms.get(id);
    room?.dispose();
    this.rooms.delete(id);
  }

  /** Applies one change to a salon in its queue, after every change queued before it. */
  private change(id: string, apply: Change): Promise<SalonRecord> {
    return this.queue.run(id, () => this.applyNow(id, apply));
  }

  /**
   * A change made by the salon's own work (a turn, a delivery, a lease renewal): only while the engine still runs
   * the salon in this very room. A step that outlived its room (the salon was let go, closed, or taken over) must
   * not fall back on reading the store, as a command would, and act on a salon someone else now drives.
   */
  private changeRoom(room: Room, apply: Change): Promise<SalonRecord> {
    return this.queue.run(room.id, () => this.applyInRoom(room, apply));
  }

  private applyInRoom(room: Room, apply: Change): Promise<SalonRecord> {
    if (room.disposed || this.rooms.get(room.id) !== room) return Promise.reject(new RoomGoneError(room.id));
    return this.applyNow(room.id, apply);
  }

  /**
   * Works out what the salon needs next and arranges it. Delivery and writing run side by side: the next turn is
   * written while the last one is still being posted (the outbox keeps the posts in order), so a salon with no
   * delay moves at the models' pace, not the models' plus Discord's.
   */
  private kick(id: string): void {
    const room = this.rooms.get(id);
    if (!room) return;
    if (!this.stopped) this.arrange(room);
    room.onSettle?.();
  }

  private arrange(room: Room): void {
    const salon = room.record;
    // Posting: one loop per salon; a backoff after a failure is waited out.
    if (salon.outbox.length > 0 && !room.undeliverable && !room.delivering && !room.deliveryTimer && room.deliveryAt === undefined) {
      this.scheduleDelivery(room, 0);
    }
    // Writing: a turn when due, or the closing synthesis; one at a time.
    room.cancelWork();
    if (room.writing) return;
    let wait: number;
    if (salon.synthesis?.status === 'pending') wait = 0;
    else if (salon.status === 'running' && salon.nextTurnAt !== undefined && nextTurn(salon)) wait = salon.nextTurnAt - this.clock.now();
    else return;
    this.scheduleWork(room, wait);
  }

  private scheduleWork(room: Room, wait: number): void {
    // A leased salon whose next step is not due yet goes back to the job queue rather than holding a timer here.
    if (room.lease && wait > 0) {
      room.workAt = this.clock.now() + wait;
      return;
    }
    room.workTimer = later(wait, () => {
      room.workTimer = undefined;
      room.stepping = true;
      void this.work(room)
        .finally(() => (room.stepping = false))
        .then(
          () => {
            room.stepFailures = 0;
            this.kick(room.id);
          },
          (err: unknown) => {
            // A failed save (the store hiccuped) must not leave the salon without a next step: try again later.
            room.stepFailures += 1;
            const retryIn = this.deliveryBackoffMs(room.stepFailures);
            if (!letGo(err)) this.log.error({ salonId: room.id, err, retryInMs: retryIn }, 'salon step failed; will try again');
            if (!this.stopped && !room.disposed) this.scheduleWork(room, retryIn);
            room.onSettle?.();
          },
        );
    });
  }

  private async work(room: Room): Promise<void> {
    if (this.stopped || room.disposed) return;
    const salon = room.record;
    if (salon.synthesis?.status === 'pending') await this.writer.writeSynthesis(room);
    else if (salon.status === 'running' && (salon.nextTurnAt ?? Infinity) <= this.clock.now()) await this.writer.takeTurn(room);
  }

  private scheduleDelivery(room: Room, wait: number): void {
    if (room.lease && wait > 0) {
      room.deliveryAt = this.clock.now() + wait;
      return;
    }
    room.deliveryAt = undefined;
    room.deliveryTimer = later(wait, () => {
      room.deliveryTimer = undefined;
      if (room.delivering || room.disposed) return;
      const loop = deliverOutbox(room, {
        publisher: this.options.publisher,
        log: this.log,
        backoffMs: this.deliveryBackoffMs,
        change: (room, apply) => this.changeRoom(room, apply),
        threadGone: (id, reason) => this.threadGone(id, reason),
        stopped: () => this.stopped,
        delivered: (salon, post) => {
          // A turn that waited for this post to go out may start now.
          if (post.kind === 'turn') this.kick(salon.id);
          this.emit('delivered', salon, post);
        },
      });
      room.delivering = loop;
      this.deliveries.add(loop);
      void loop
        .finally(() => {
          room.delivering = undefined;
          this.deliveries.delete(loop);
        })
        .then(
          (retryIn) => {
            if (retryIn !== undefined && !this.stopped) this.scheduleDelivery(room, retryIn);
            this.kick(room.id);
          },
          (err: unknown) => {
            room.deliveryAttempts += 1;
            const retryIn = this.deliveryBackoffMs(room.deliveryAttempts);
            if (!letGo(err)) this.log.error({ salonId: room.id, err, retryInMs: retryIn }, 'delivery failed; will try again');
            if (!this.stopped && !room.disposed) this.scheduleDelivery(room, retryIn);
            room.onSettle?.();
          },
        );
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Leased driving: one salon at a time, for as long as it has something to do now.

  /**
   * Drives one salon under a lease until nothing more is due now, then hands it back: its next step (a later turn,
   * a delivery retry) is arranged through `wakeups`, and the lease released. Called by a worker for each wake-up
   * it takes. A salon whose lease another worker holds is left to it, with a wake-up for when that lease ends.
   */
  drive(id: string): Promise<DriveResult> {
    if (!this.leased) return Promise.reject(new Error('drive() is for a leased engine'));
    // Failing the job makes the queue give it to another worker after a short backoff.
    if (this.stopped) return Promise.reject(new Error('this worker is shutting down'));
    // Already driven here (the queue ran its job twice): that drive arranges what comes next.
    if (this.rooms.has(id)) return Promise.resolve({ outcome: 'busy', until: this.clock.now() + this.leaseMs });
    const driving = this.driveOnce(id);
    this.drives.add(driving);
    void driving.finally(() => this.drives.delete(driving)).catch(() => {});
    return driving;
  }

  private async driveOnce(id: string): Promise<DriveResult> {
    const owner = `${this.workerId}:${randomUUID().slice(0, 8)}`;
    const taken = await this.queue.run(id, () => this.takeLease(id, owner));
    if (!('room' in taken)) return taken;
    const { room } = taken;
    const log = this.log.child({ salonId: id, lease: room.lease?.epoch });
    // A renewal that finds the salon already handed back (or let go) has nothing to renew: not worth a warning.
    const renewFailed = (err: unknown) => letGo(err) || log.warn({ err }, 'could not renew the lease');
    const renewal = setInterval(() => void this.renew(room).catch(renewFailed), this.leaseMs / 3);
    renewal.unref();
    try {
      for (;;) {
        this.kick(id);
        await this.settled(room);
        if (room.disposed) {
          // Lost midway: whoever holds it now has its own wake-ups; if nobody does (this process could not renew in
          // time), this one makes sure the salon is not forgotten once the lease has run out.
          await this.options.wakeups
            ?.wake(id, room.record.version, this.clock.now() + this.leaseMs + CLOCK_SKEW_MS)
            .catch((err: unknown) => log.warn({ err }, 'could not arrange a look at the salon after losing it; the sweep will'));
          return { outcome: 'lost' };
        }
        const handed = await this.queue.run(id, () => this.handBack(room));
        if (handed) return handed;
      }
    } finally {
      clearInterval(renewal);
      room.onSettle = undefined;
      if (this.rooms.get(id) === room) this.rooms.delete(id);
      room.lease?.fence.lower();
    }
  }

  /** In the salon's queue: takes its lease, or says why not. */
  private async takeLease(id: string, owner: string): Promise<DriveResult | { room: Room }> {
    for (let attempt = 1; ; attempt++) {
      const salon = await this.options.store.get(id);
      if (!salon || !isLive(salon)) return { outcome: 'absent' };
      const now = this.clock.now();
      const other = heldElsewhere(salon, owner, now);
      if (other) {
        await this.options.wakeups?.wake(id, salon.version, other.until + CLOCK_SKEW_MS);
        return { outcome: 'busy', until: other.until };
      }
      // Whatever the last holder had in flight may have gone out unrecorded, unless it let go cleanly.
      const uncertain = salon.lease !== undefined && !salon.lease.released;
      const draft = copyForChange(salon);
      const lease = takeLease(draft, owner, now, this.leaseMs);
      draft.version = salon.version + 1;
      const sentAt = performance.now();
      try {
        await this.options.store.save(draft, { expected: salon.version, turns: [] });
      } catch (err) {
        if (err instanceof StaleRecordError && attempt < MAX_SAVE_ATTEMPTS) continue;
        throw err;
      }
      const room = new Room(draft, uncertain);
      const margin = this.options.fenceMarginMs ?? Math.min(FENCE_MARGIN_MS, this.leaseMs / 4);
      room.lease = { owner, epoch: lease.epoch, fence: new Fence(id, sentAt, this.leaseMs, margin) };
      // A thread that refused posts waits for someone to resume the salon; trying again on every wake-up would not help.
      room.undeliverable = draft.status === 'paused' && draft.pausedReason?.code === 'undeliverable';
      // Stop everything the moment the lease may be someone else's. (A room handed back has left `rooms` first.)
      room.lease.fence.signal.addEventListener('abort', () => this.rooms.get(id) === room && this.letGo(id, 'lease over'), { once: true });
      this.rooms.set(id, room);
      this.emit('saved', draft);
      return { room };
    }
  }

  private async renew(room: Room): Promise<void> {
    const lease = room.lease;
    if (!lease || room.disposed) return;
    const sentAt = performance.now();
    await this.changeRoom(room, (draft, now) => void takeLease(draft, lease.owner, now, this.leaseMs));
    lease.fence.renewed(sentAt);
  }

  /** Resolves once the room has nothing in flight (or was let go). */
  private settled(room: Room): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!room.disposed && !(room.idle && !room.stepping)) return;
        room.onSettle = undefined;
        resolve();
      };
      room.onSettle = check;
      check();
    });
  }

  /**
   * In the salon's queue, once idle: arranges the next step, then releases the lease. Undefined when the salon
   * changed meanwhile (a command came in) and has work again, so the drive goes on.
   */
  private async handBack(room: Room): Promise<DriveResult | undefined> {
    if (room.disposed) return undefined;
    if (!room.idle || room.stepping) return undefined;
    const now = this.clock.now();
    const salon = room.record;
    // After a stop, carry on at once elsewhere; otherwise when the room said its next step is due.
    const due = this.stopped ? dueAt(salon) : minDefined(room.workAt, room.deliveryAt);
    // Arranged before the lease is released: a command saved after this sees the release and wakes the salon itself.
    if (due !== undefined) await this.options.wakeups?.wake(room.id, salon.version, Math.max(due, now));
    const draft = copyForChange(salon);
    releaseLease(draft, now);
    draft.version = salon.version + 1;
    try {
      room.lease?.fence.check();
      await this.options.store.save(draft, { expected: salon.version, turns: [] });
    } catch (err) {
      if (err instanceof FenceDownError) this.letGo(room.id, 'lease over');
      // Changed meanwhile (a command): look again at what it needs before letting go.
      else if (err instanceof StaleRecordError && (await this.stillOurs(room, err))) return undefined;
      if (room.disposed) return undefined;
      throw err;
    }
    room.record = draft;
    this.rooms.delete(room.id);
    room.lease?.fence.lower();
    this.emit('saved', draft);
    return { outcome: 'done', wakeAt: due };
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
