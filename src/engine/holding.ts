/**
 * Which salons this process holds, and what that changes: the one thing that differs between the bot as one
 * process (it holds every live salon, each on its own timers: HoldingAll, below) and a worker among several (it
 * holds a salon only while it drives it under a lease: LeasedDriver, in leased-driver.ts). The rest of the engine
 * (the change path, the scheduler, the turn writer, delivery) is the same for both.
 */
import type { Logger } from 'pino';
import { isActive, isLive, type SalonHead, type SalonRecord } from '../domain/salon.js';
import { RecordError, type SalonStore, type StaleRecordError } from './ports.js';
import { Room, type Step } from './room.js';
import { staleReason, type Rooms } from './rooms.js';

export interface Holding {
  /** Takes up the salons this process drives from the start. */
  start(): Promise<{ resumed: number; skipped: number }>;
  /** Salons that are running or paused: what access limits count. */
  activeSalons(): Promise<SalonHead[]>;
  /** The salon a thread message may be for, if it is running or paused. */
  findActive(id: string): Promise<SalonRecord | undefined>;
  /** Whether a salon this process holds no room for may still be live, driven elsewhere (a deleted thread may be its). */
  mayBeLiveElsewhere(id: string): Promise<boolean>;
  /** After every saved change (and a creation); `room` is the salon's room here, if it has one. */
  saved(salon: SalonRecord, room: Room | undefined): Promise<void>;
  /** A save found the salon changed elsewhere: whether `room` may go on (holding the fresh record), else it is let go. */
  stale(room: Room, err: StaleRecordError): Promise<boolean>;
  /** A step not due yet: true when it is left to a later wake-up rather than a timer here. */
  defer(room: Room, step: Step, at: number): boolean;
  /** Waits for what the holding has in hand to be handed back. */
  stop(): Promise<void>;
}

export interface HoldingAllDeps {
  rooms: Rooms;
  store: SalonStore;
  log: Logger;
  scheduleNext(room: Room): void;
}

/** One process per store: every live salon is held here from start-up, and driven on its own timers. */
export class HoldingAll implements Holding {
  constructor(private readonly deps: HoldingAllDeps) {}

  /** Loads every salon that is not done and carries on with it. Unreadable records are logged and skipped. */
  async start(): Promise<{ resumed: number; skipped: number }> {
    const { rooms, store, log } = this.deps;
    const ids = await store.activeIds();
    let resumed = 0;
    let skipped = 0;
    // Load in slices: enough parallelism to hide store latency without a thousand queries at once.
    for (let i = 0; i < ids.length; i += 64) {
      await Promise.all(
        ids.slice(i, i + 64).map(async (id) => {
          try {
            const salon = await store.get(id);
            if (!salon || !isLive(salon)) return;
            rooms.hold(new Room(salon, true));
            resumed += 1;
          } catch (err) {
            skipped += 1;
            log.error({ salonId: id, err: err instanceof RecordError ? err.message : err }, 'cannot read salon record; skipping it');
          }
        }),
      );
    }
    // Everything loaded first, then set going: starting turns while still loading slows both.
    for (const room of rooms.all()) this.deps.scheduleNext(room);
    log.info({ resumed, skipped }, 'engine started');
    return { resumed, skipped };
  }

  activeSalons(): Promise<SalonHead[]> {
    return Promise.resolve([...this.deps.rooms.all()].map((room) => room.record).filter(isActive));
  }

  findActive(id: string): Promise<SalonRecord | undefined> {
    const salon = this.deps.rooms.get(id)?.record;
    return Promise.resolve(salon && isActive(salon) ? salon : undefined);
  }

  /** Every live salon is held here. */
  mayBeLiveElsewhere(): Promise<boolean> {
    return Promise.resolve(false);
  }

  /** A salon done with is dropped; one brought back to life (extended, or just created) is held from now on. */
  saved(salon: SalonRecord, room: Room | undefined): Promise<void> {
    if (room && !isLive(salon)) this.deps.rooms.forget(room);
    else if (!room && isLive(salon)) this.deps.rooms.hold(new Room(salon));
    return Promise.resolve();
  }

  /** Someone else saved a salon this process drives alone: someone else drives it now. */
  stale(room: Room, err: StaleRecordError): Promise<boolean> {
    this.deps.rooms.release(room.id, staleReason(err));
    return Promise.resolve(false);
  }

  /** Every step waits on a timer here. */
  defer(): boolean {
    return false;
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
