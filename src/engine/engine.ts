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
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { SalonError } from '../domain/errors.js';
import { createSalon, isActive, isLive, nextTurn, type Interjection, type NewSalon, type Post, type SalonRecord, type Seat } from '../domain/salon.js';
import * as transitions from '../domain/transitions.js';
import { deliverOutbox } from './delivery.js';
import { KeyedQueue } from './keyed-queue.js';
import { RecordError, StaleRecordError, type Clock, type ModelClient, type Publisher, type SalonStore } from './ports.js';
import { copyForChange, changedTurns } from './record-copy.js';
import { later, Room } from './room.js';
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
  private stopped = false;

  constructor(private readonly options: EngineOptions) {
    super();
    this.clock = options.clock ?? { now: () => Date.now() };
    this.deliveryBackoffMs = options.deliveryBackoffMs ?? ((n) => Math.min(300_000, 1_000 * 2 ** (n - 1)));
    this.writer = new TurnWriter({
      config: options.config,
      models: options.models,
      publisher: options.publisher,
      clock: this.clock,
      log: options.log,
      modelRetry: options.modelRetry ?? DEFAULT_MODEL_RETRY,
      exclusive: (id, task) => this.queue.run(id, task),
      applyNow: (id, apply) => this.applyNow(id, apply),
      change: (id, apply) => this.change(id, apply),
    });
  }

  private get log(): Logger {
    return this.options.log;
  }

  /** Loads every salon that is not done and carries on with it. Unreadable records are logged and skipped. */
  async start(): Promise<{ resumed: number; skipped: number }> {
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
    await this.queue.drain();
  }

  /** Salons that are running or paused: what access limits count. */
  activeSalons(): SalonRecord[] {
    return [...this.rooms.values()].map((room) => room.record).filter(isActive);
  }

  /**
   * Creates a salon. `admit` runs first, inside one queue for all creations, with the salons active at that
   * moment: two starts at once cannot both slip under a limit.
   */
  async create(input: NewSalon, admit?: (active: SalonRecord[]) => void): Promise<SalonRecord> {
    return this.queue.run('\u0000admission', () =>
      this.queue.run(input.id, async () => {
        admit?.(this.activeSalons());
        if (this.rooms.has(input.id) || (await this.options.store.get(input.id).catch(() => undefined))) {
          throw new SalonError({ code: 'salon_exists' });
        }
        const salon = createSalon(input, this.clock.now());
        await this.options.store.save(salon).catch((err: unknown) => {
          throw err instanceof StaleRecordError ? new SalonError({ code: 'salon_exists' }) : err;
        });
        this.rooms.set(salon.id, new Room(salon));
        this.log.child({ salonId: salon.id }).info({ topic: salon.topic, rounds: salon.rounds, seats: salon.seats }, 'salon created');
        this.kick(salon.id);
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
    if (!room || room.abandoning) return;
    room.abandoning = true;
    try {
      this.log.child({ salonId: id }).warn({ reason }, 'the thread is gone; closing the salon');
      await this.change(id, (s, now) => {
        transitions.abandon(s, now);
        room.writing?.abort();
      });
    } finally {
      room.abandoning = false;
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

  /** Forgets past delivery failures, so a thread that refused posts is tried again (after resume or close). */
  private retryDelivery(id: string): void {
    this.rooms.get(id)?.resetDelivery();
    this.kick(id);
  }

  /**
   * Applies one change to a salon: on a copy, so a refused change leaves the record untouched, then saved.
   * Only inside the salon's queue; everything else calls `change`.
   */
  private async applyNow(id: string, apply: Change): Promise<SalonRecord> {
    const current = this.rooms.get(id)?.record ?? (await this.options.store.get(id));
    if (!current) throw new SalonError({ code: 'no_salon' });
    const draft = copyForChange(current);
    apply(draft, this.clock.now());
    draft.version += 1;
    try {
      await this.options.store.save(draft, { expected: current.version, turns: changedTurns(current, draft) });
    } catch (err) {
      if (err instanceof StaleRecordError) this.letGo(id, err);
      throw err;
    }
    if (isLive(draft)) {
      const room = this.rooms.get(id);
      if (room) room.record = draft;
      else this.rooms.set(id, new Room(draft));
    } else {
      // Nothing more to do for it: drop everything kept for it.
      this.rooms.get(id)?.dispose();
      this.rooms.delete(id);
    }
    this.emit('saved', draft);
    return draft;
  }

  /**
   * Another process has changed the salon since this one read it: it has taken the salon over (this one stalled
   * past its lease, or a command was taken elsewhere). Whatever this process still had in hand for it is dropped
   * unsaved and unposted; the salon goes on where it is now driven.
   */
  private letGo(id: string, err: StaleRecordError): void {
    this.log.child({ salonId: id }).warn({ expected: err.expected, found: err.found }, 'salon changed elsewhere; letting it go');
    const room = this.rooms.get(id);
    room?.dispose();
    this.rooms.delete(id);
  }

  /** Applies one change to a salon in its queue, after every change queued before it. */
  private change(id: string, apply: Change): Promise<SalonRecord> {
    return this.queue.run(id, () => this.applyNow(id, apply));
  }

  /**
   * Works out what the salon needs next and arranges it. Delivery and writing run side by side: the next turn is
   * written while the last one is still being posted (the outbox keeps the posts in order), so a salon with no
   * delay moves at the models' pace, not the models' plus Discord's.
   */
  private kick(id: string): void {
    if (this.stopped) return;
    const room = this.rooms.get(id);
    if (!room) return;
    const salon = room.record;
    // Posting: one loop per salon; a backoff after a failure is waited out.
    if (salon.outbox.length > 0 && !room.undeliverable && !room.delivering && !room.deliveryTimer) this.scheduleDelivery(room, 0);
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
    room.workTimer = later(wait, () => {
      room.workTimer = undefined;
      void this.work(room).then(
        () => {
          room.stepFailures = 0;
          this.kick(room.id);
        },
        (err: unknown) => {
          // A failed save (the store hiccuped) must not leave the salon without a next step: try again later.
          room.stepFailures += 1;
          const retryIn = this.deliveryBackoffMs(room.stepFailures);
          this.log.error({ salonId: room.id, err, retryInMs: retryIn }, 'salon step failed; will try again');
          if (!this.stopped && !room.disposed) this.scheduleWork(room, retryIn);
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
    room.deliveryTimer = later(wait, () => {
      room.deliveryTimer = undefined;
      if (room.delivering || room.disposed) return;
      const loop = deliverOutbox(room, {
        publisher: this.options.publisher,
        log: this.log,
        backoffMs: this.deliveryBackoffMs,
        change: (id, apply) => this.change(id, apply),
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
            else this.kick(room.id);
          },
          (err: unknown) => {
            room.deliveryAttempts += 1;
            const retryIn = this.deliveryBackoffMs(room.deliveryAttempts);
            this.log.error({ salonId: room.id, err, retryInMs: retryIn }, 'delivery failed; will try again');
            if (!this.stopped && !room.disposed) this.scheduleDelivery(room, retryIn);
          },
        );
    });
  }
}
