/**
 * Runs salons: the salon API (create, the commands, queries, start and stop), composed of the change path
 * (rooms.ts), the scheduler of each salon's next step (scheduler.ts), the turn writer (turn-writer.ts), delivery
 * (delivery.ts) and the holding, which says what this process holds: every live salon (holding.ts), or one at a
 * time under a lease as a worker among several (leased-driver.ts).
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
import {
  createSalon,
  type Interjection,
  type NewSalon,
  type Post,
  type Person,
  type SalonHead,
  type SalonRecord,
  type Seat,
  type Share,
} from '../domain/salon.js';
import type { AnsweredIn } from '../domain/order.js';
import * as transitions from '../domain/transitions.js';
import { deliverOutbox } from './delivery.js';
import { HoldingAll, type Holding } from './holding.js';
import { LeasedDriver } from './leased-driver.js';
import { StaleRecordError, type Clock, type Driver, type ModelClient, type Publisher, type SalonStore, type Wakeups } from './ports.js';
import { Rooms, type Change } from './rooms.js';
import { Scheduler } from './scheduler.js';
import { synthesizerFor, TurnWriter } from './turn-writer.js';

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
   * own timers. 'leased' (a pool of workers sharing the store): it drives a salon only when its `driver` is asked
   * to, under a lease, and hands it back to `wakeups` when its next step is not due yet; a command changes the store
   * and wakes the salon, wherever it is driven.
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

export class SalonEngine extends EventEmitter<EngineEvents> {
  /** What a worker of the job queue drives salons through; only a 'leased' engine has one. */
  readonly driver?: Driver;
  private readonly clock: Clock;
  private readonly rooms: Rooms;
  private readonly scheduler: Scheduler;
  private readonly holding: Holding;
  private stopped = false;

  constructor(private readonly options: EngineOptions) {
    super();
    const clock = (this.clock = options.clock ?? { now: () => Date.now() });
    const { config, store, models, publisher, log } = options;
    const backoffMs = options.deliveryBackoffMs ?? ((n) => Math.min(300_000, 1_000 * 2 ** (n - 1)));
    const stopped = () => this.stopped;
    const scheduleNext = (room: { id: string }) => this.scheduleNext(room.id);
    this.rooms = new Rooms({
      store,
      clock,
      log,
      stale: (room, err) => this.holding.stale(room, err),
      saved: (salon, room) => {
        void this.holding.saved(salon, room);
        this.emit('saved', salon);
      },
    });
    const rooms = this.rooms;
    const writer = new TurnWriter({
      config,
      models,
      publisher,
      clock,
      log,
      modelRetry: options.modelRetry ?? DEFAULT_MODEL_RETRY,
      exclusive: (room, task) => rooms.exclusive(room.id, task),
      changeHeld: (room, apply) => rooms.changeHeld(room, apply),
      changeQueued: (room, apply) => rooms.changeQueued(room, apply),
    });
    this.scheduler = new Scheduler({
      clock,
      log,
      backoffMs,
      stopped,
      defer: (room, step, at) => this.holding.defer(room, step, at),
      write: (room) => writer.writeDue(room),
      deliver: (room) =>
        deliverOutbox(room, {
          publisher,
          log,
          backoffMs,
          stopped,
          changeQueued: (room, apply) => rooms.changeQueued(room, apply),
          threadGone: (id, reason) => this.threadGone(id, reason),
          delivered: (salon, post) => {
            // A turn that waited for this post to go out may start now.
            if (post.kind === 'turn') this.scheduleNext(salon.id);
            this.emit('delivered', salon, post);
          },
        }),
    });
    if (options.driving === 'leased') {
      if (!options.wakeups) throw new Error('a leased engine needs wakeups');
      const driver = new LeasedDriver({
        rooms,
        store,
        wakeups: options.wakeups,
        clock,
        log,
        scheduleNext,
        stopped,
        saved: (salon) => this.emit('saved', salon),
        leaseMs: options.leaseMs ?? 30_000,
        fenceMarginMs: options.fenceMarginMs,
        workerId: options.workerId ?? randomUUID().slice(0, 8),
      });
      this.holding = this.driver = driver;
    } else {
      this.holding = new HoldingAll({ rooms, store, log, scheduleNext });
    }
  }

  private get log(): Logger {
    return this.options.log;
  }

  /** Takes up the salons this process drives from the start (every live one, in one process). */
  start(): Promise<{ resumed: number; skipped: number }> {
    return this.holding.start();
  }

  /** Stops scheduling, aborts model requests in flight and waits for changes under way to be saved. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const room of this.rooms.all()) {
      room.write.cancel();
      room.deliver.cancel();
      room.writing?.abort();
      // A step cancelled before its timer fired will never settle on its own: a drive waiting for the room to go
      // idle must hear it now, or it waits for ever (renewing its lease) and the process never exits.
      room.checkIdle();
    }
    this.options.models.close();
    // Runs in flight end after the post in hand; their last record change must land before the store closes.
    await this.scheduler.whenSettled();
    await this.holding.stop();
    await this.rooms.queue.drain();
  }

  /** Salons that are running or paused: what access limits count. */
  activeSalons(): Promise<SalonHead[]> {
    return this.holding.activeSalons();
  }

  /**
   * Creates a salon. `admit` runs first, inside one queue for all creations, with the salons active at that
   * moment: two starts at once cannot both slip under a limit.
   */
  async create(input: NewSalon, admit?: (active: SalonHead[]) => void): Promise<SalonRecord> {
    const { store } = this.options;
    return this.rooms.exclusive('\u0000admission', () =>
      this.rooms.exclusive(input.id, async () => {
        admit?.(await this.activeSalons());
        if (this.rooms.has(input.id) || (await store.get(input.id).catch(() => undefined))) {
          throw new SalonError({ code: 'salon_exists' });
        }
        const salon = createSalon(input, this.clock.now());
        await store.save(salon).catch((err: unknown) => {
          throw err instanceof StaleRecordError ? new SalonError({ code: 'salon_exists' }) : err;
        });
        this.log.child({ salonId: salon.id }).info({ topic: salon.topic, rounds: salon.rounds, seats: salon.seats }, 'salon created');
        await this.holding.saved(salon, undefined);
        this.scheduleNext(salon.id);
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
  findActive(id: string): Promise<SalonRecord | undefined> {
    return this.holding.findActive(id);
  }

  async ask(id: string, input: transitions.InterjectionInput): Promise<{ salon: SalonRecord; interjection: Interjection; answeredIn: AnsweredIn }> {
    let added!: ReturnType<typeof transitions.addInterjection>;
    const salon = await this.change(id, (s, now) => {
      added = transitions.addInterjection(s, input, now, { maxPending: this.options.config.salon.maxPendingQuestions });
    });
    return { salon, ...added };
  }

  /** A person chose who speaks next (`/salon next`): that seat takes the first turn not yet picked. */
  async chooseNext(id: string, seat: Seat, person: Person): Promise<{ salon: SalonRecord; round: number }> {
    let chosen!: { round: number };
    const salon = await this.change(id, (s, now) => {
      chosen = transitions.chooseNext(s, seat, person, now);
    });
    return { salon, ...chosen };
  }

  /** Shares the salon on the web (`again`: it was shared already, and keeps its link). */
  async share(id: string, token: string, listed: boolean): Promise<{ salon: SalonRecord; share: Share; again: boolean }> {
    let shared!: { share: Share; again: boolean };
    const salon = await this.change(id, (s, now) => {
      const again = s.share !== undefined;
      shared = { share: transitions.share(s, token, listed, now), again };
    });
    return { salon, ...shared };
  }

  async unshare(id: string): Promise<SalonRecord> {
    return this.change(id, (s, now) => transitions.unshare(s, now));
  }

  /** Adds rounds; a finished salon carries on at once. */
  async extend(id: string, rounds: number): Promise<SalonRecord> {
    const salon = await this.change(id, (s, now) => transitions.extend(s, rounds, now));
    this.scheduleNext(id);
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
    if (!room && !(await this.holding.mayBeLiveElsewhere(id))) return;
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

  /** A command's change, in the salon's queue, wherever the salon is driven. */
  private change(id: string, apply: Change): Promise<SalonRecord> {
    return this.rooms.changeQueued(id, apply);
  }

  /** Forgets past delivery failures, so a thread that refused posts is tried again (after resume or close). */
  private retryDelivery(id: string): void {
    this.rooms.get(id)?.resetDelivery();
    this.scheduleNext(id);
  }

  /** Arranges the next step of a salon held here; nothing for one that is not. */
  private scheduleNext(id: string): void {
    const room = this.rooms.get(id);
    if (room) this.scheduler.scheduleNext(room);
  }
}
