/**
 * Runs salons: takes each salon's next turn when it is due and delivers what the salon owes its thread.
 *
 * Every change to a salon goes through one queue per salon, so a pause, a question or a close that arrives
 * while a model is writing is applied before or after the turn's commit, never in the middle of it. The model
 * call itself runs outside the queue (it can take minutes); its result is committed only if the salon still
 * expects that turn.
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
import { costOf, formatUSD } from '../domain/ledger.js';
import { buildPrompt, buildSynthesisPrompt } from '../domain/prompts.js';
import { repetitionScore, REPETITION_WINDOW } from '../domain/repetition.js';
import { createSalon, isActive, needsEngine, nextTurn, turnKey, type Interjection, type NewSalon, type Post, type SalonRecord, type Seat, type Turn } from '../domain/salon.js';
import * as T from '../domain/transitions.js';
import { estimateTokens, ownNameStripper } from '../domain/text.js';
import { DraftWriter } from './draft-writer.js';
import { KeyedQueue } from './keyed-queue.js';
import { ModelAbortedError, ModelError, PublishError, RecordError, type Clock, type ModelClient, type Publisher, type SalonStore } from './ports.js';

export interface EngineOptions {
  config: Config;
  store: SalonStore;
  models: ModelClient;
  publisher: Publisher;
  log: Logger;
  clock?: Clock;
  /** Engine-level attempts for a failing model, after the client's own retries. */
  modelRetry?: T.RetryPolicy;
  /** Backoff for deliveries that failed in a way that may pass (Discord 5xx, network). */
  deliveryBackoffMs?: (attempt: number) => number;
}

export interface EngineEvents {
  /** After every saved change. */
  saved: [salon: SalonRecord];
  turn: [salon: SalonRecord, turn: Turn];
  delivered: [salon: SalonRecord, post: Post];
  finished: [salon: SalonRecord];
}

const DEFAULT_MODEL_RETRY: T.RetryPolicy = {
  maxAttempts: 3,
  backoffMs: (attempt) => [30_000, 120_000, 600_000][attempt - 1] ?? 600_000,
};

// Timers cannot wait longer than 2^31-1 ms; a longer wait is re-armed when it fires.
const MAX_TIMER_MS = 2_147_483_647;

/** Runs `run` after `ms`; at once (next turn of the event loop, without a timer's 1 ms floor) when nothing is to wait. */
function later(ms: number, run: () => void): { cancel(): void } {
  if (ms <= 0) {
    const immediate = setImmediate(run);
    return { cancel: () => clearImmediate(immediate) };
  }
  const timer = setTimeout(run, Math.min(ms, MAX_TIMER_MS));
  return { cancel: () => clearTimeout(timer) };
}

export class SalonEngine extends EventEmitter<EngineEvents> {
  private readonly queue = new KeyedQueue();
  /** Salons the engine keeps in memory: those that may take turns or still owe a post. */
  private readonly live = new Map<string, SalonRecord>();
  /** Per salon: when its next turn (or synthesis) is to be written, and when its next delivery attempt is. */
  private readonly timers = new Map<string, { cancel(): void }>();
  private readonly deliveryTimers = new Map<string, { cancel(): void }>();
  private readonly generating = new Map<string, AbortController>();
  /** Salons whose delivery loop is running, and the loop. */
  private readonly deliveries = new Map<string, Promise<number | undefined>>();
  private readonly stepFailures = new Map<string, number>();
  private readonly abandoning = new Set<string>();
  private readonly deliveryAttempts = new Map<string, number>();
  /** Salons whose thread refused a post for good; nothing is sent for them until someone resumes them. */
  private readonly undeliverable = new Set<string>();
  /** Post keys that may have been delivered without being recorded (see DeliveryProgress.maybeDelivered). */
  private readonly uncertain = new Set<string>();
  /** Salons whose next turn may already show in a draft message nobody knows the id of (see DraftUpdate.maybePosted). */
  private readonly uncertainDrafts = new Set<string>();
  private readonly clock: Clock;
  private readonly modelRetry: T.RetryPolicy;
  private readonly deliveryBackoffMs: (attempt: number) => number;
  private stopped = false;

  constructor(private readonly options: EngineOptions) {
    super();
    this.clock = options.clock ?? { now: () => Date.now() };
    this.modelRetry = options.modelRetry ?? DEFAULT_MODEL_RETRY;
    this.deliveryBackoffMs = options.deliveryBackoffMs ?? ((n) => Math.min(300_000, 1_000 * 2 ** (n - 1)));
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
            if (!salon || !needsEngine(salon)) return;
            this.live.set(id, salon);
            for (const post of salon.outbox) this.uncertain.add(post.key);
            this.uncertainDrafts.add(id);
            resumed += 1;
          } catch (err) {
            skipped += 1;
            this.log.error({ salonId: id, err: err instanceof RecordError ? err.message : err }, 'cannot read salon record; skipping it');
          }
        }),
      );
    }
    // Everything loaded first, then set going: starting turns while still loading slows both.
    for (const id of this.live.keys()) this.kick(id);
    this.log.info({ resumed, skipped }, 'engine started');
    return { resumed, skipped };
  }

  /** Stops scheduling, aborts model requests in flight and waits for changes under way to be saved. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [...this.timers.values(), ...this.deliveryTimers.values()]) timer.cancel();
    this.timers.clear();
    this.deliveryTimers.clear();
    for (const controller of this.generating.values()) controller.abort();
    this.options.models.close();
    // Delivery loops end after the post in hand; their last record change must land before the store closes.
    await Promise.all(this.deliveries.values());
    await this.queue.drain();
  }

  /** Salons that are running or paused: what access limits count. */
  activeSalons(): SalonRecord[] {
    return [...this.live.values()].filter(isActive);
  }

  /**
   * Creates a salon. `admit` runs first, inside one queue for all creations, with the salons active at that
   * moment: two starts at once cannot both slip under a limit.
   */
  async create(input: NewSalon, admit?: (active: SalonRecord[]) => void): Promise<SalonRecord> {
    return this.queue.run('\u0000admission', () => this.queue.run(input.id, async () => {
      admit?.(this.activeSalons());
      if (this.live.has(input.id) || (await this.options.store.get(input.id).catch(() => undefined))) {
        throw new SalonError('duplicate', 'There is already a salon here.');
      }
      const salon = createSalon(input, this.clock.now());
      await this.options.store.save(salon);
      this.live.set(salon.id, salon);
      this.salonLog(salon).info({ topic: salon.topic, rounds: salon.rounds, seats: salon.seats }, 'salon created');
      this.kick(salon.id);
      return salon;
    }));
  }

  /** The current record: from memory for live salons, else from the store. */
  /** The record of a salon the engine is running, without a store read (undefined for any other). */
  running(id: string): SalonRecord | undefined {
    return this.live.get(id);
  }

  async get(id: string): Promise<SalonRecord | undefined> {
    return this.live.get(id) ?? (await this.options.store.get(id));
  }

  async ask(id: string, input: T.InterjectionInput): Promise<{ salon: SalonRecord; interjection: Interjection; answeredIn: { index: number; round: number; seat: Seat } }> {
    let added!: ReturnType<typeof T.addInterjection>;
    const salon = await this.change(id, (s, now) => {
      added = T.addInterjection(s, input, now, { turnInFlight: this.generating.has(id), maxPending: this.options.config.salon.maxPendingQuestions });
    });
    return { salon, ...added };
  }

  /** Adds rounds; a finished salon carries on at once. */
  async extend(id: string, rounds: number): Promise<SalonRecord> {
    const salon = await this.change(id, (s, now) => T.extend(s, rounds, now));
    this.kick(id);
    return salon;
  }

  /** No further turn starts; what the salon owes the thread (a turn being written included) still goes out. */
  async pause(id: string): Promise<SalonRecord> {
    return this.change(id, (s, now) => T.pause(s, now));
  }

  async resume(id: string, options: { budgetUSD?: number } = {}): Promise<SalonRecord> {
    const salon = await this.change(id, (s, now) => T.resume(s, now, options));
    this.retryDelivery(id);
    return salon;
  }

  /** Forgets past delivery failures, so a thread that refused posts is tried again (after resume or close). */
  private retryDelivery(id: string): void {
    this.deliveryAttempts.delete(id);
    this.undeliverable.delete(id);
    const waiting = this.deliveryTimers.get(id);
    waiting?.cancel();
    this.deliveryTimers.delete(id);
    this.kick(id);
  }

  /** The thread is gone for good (deleted): the salon is closed and owes it nothing more. */
  async threadGone(id: string, reason = 'the thread was deleted'): Promise<void> {
    // Discord may tell twice (the gateway event, and a post refused as Unknown Channel): act and log once.
    if (!this.live.has(id) || this.abandoning.has(id)) return;
    this.abandoning.add(id);
    try {
      this.salonLog({ id }).warn({ reason }, 'the thread is gone; closing the salon');
      await this.change(id, (s, now) => {
        T.abandon(s, now);
        this.generating.get(id)?.abort();
      });
    } finally {
      this.abandoning.delete(id);
    }
  }

  /**
   * Closes the salon at once: a model still writing is stopped, and the archive goes out after anything owed,
   * and after a synthesis when `synthesis` (or, when unset, the config) asks for one.
   */
  async close(id: string, options: { synthesis?: boolean } = {}): Promise<SalonRecord> {
    const salon = await this.change(id, (s, now) => {
      T.close(s, now, { synthesizer: this.synthesizerFor(s, options.synthesis) });
      // Stop a model still writing, but only once this close is certain (a second close is refused above),
      // and inside the queue, so a turn about to start cannot slip past it.
      this.generating.get(id)?.abort();
    });
    this.retryDelivery(id);
    return salon;
  }

  /**
   * Applies one change to a salon: on a copy, so a refused change leaves the record untouched, then saved.
   * Must be called inside the salon's queue.
   */
  private async mutate(id: string, apply: (draft: SalonRecord, now: number) => void): Promise<SalonRecord> {
    const current = this.live.get(id) ?? (await this.options.store.get(id));
    if (!current) throw new SalonError('not_found', 'There is no salon here.');
    const draft = structuredClone(current);
    apply(draft, this.clock.now());
    draft.version += 1;
    await this.options.store.save(draft);
    if (needsEngine(draft)) this.live.set(id, draft);
    else this.forget(id);
    this.emit('saved', draft);
    return draft;
  }

  private change(id: string, apply: (draft: SalonRecord, now: number) => void): Promise<SalonRecord> {
    return this.queue.run(id, () => this.mutate(id, apply));
  }

  private salonLog(salon: Pick<SalonRecord, 'id'>): Logger {
    return this.log.child({ salonId: salon.id });
  }

  /** Drops what the engine kept in memory for a salon it no longer runs. */
  private forget(id: string): void {
    this.live.delete(id);
    const waiting = this.deliveryTimers.get(id);
    waiting?.cancel();
    this.deliveryTimers.delete(id);
    this.deliveryAttempts.delete(id);
    this.undeliverable.delete(id);
    for (const key of this.uncertain) if (key.startsWith(`${id}:`)) this.uncertain.delete(key);
    this.uncertainDrafts.delete(id);
  }

  private clearTimer(id: string): void {
    const timer = this.timers.get(id);
    timer?.cancel();
    this.timers.delete(id);
  }

  /**
   * Works out what the salon needs next and arranges it. Delivery and writing run side by side: the next turn is
   * written while the last one is still being posted (the outbox keeps the posts in order), so a salon with no
   * delay moves at the models' pace, not the models' plus Discord's.
   */
  private kick(id: string): void {
    if (this.stopped) return;
    const salon = this.live.get(id);
    if (!salon) return;
    // Posting: one loop per salon; a backoff after a failure is waited out.
    if (salon.outbox.length > 0 && !this.undeliverable.has(id) && !this.deliveries.has(id) && !this.deliveryTimers.has(id)) {
      this.scheduleDelivery(id, 0);
    }
    // Writing: a turn when due, or the closing synthesis; one at a time.
    this.clearTimer(id);
    if (this.generating.has(id)) return;
    let wait: number;
    if (salon.synthesis?.status === 'pending') wait = 0;
    else if (salon.status === 'running' && salon.nextTurnAt !== undefined && nextTurn(salon)) wait = salon.nextTurnAt - this.clock.now();
    else return;
    this.scheduleWork(id, wait);
  }

  private scheduleWork(id: string, wait: number): void {
    const timer = later(wait, () => {
      this.timers.delete(id);
      void this.work(id).then(
        () => {
          this.stepFailures.delete(id);
          this.kick(id);
        },
        (err: unknown) => {
          // A failed save (the store hiccuped) must not leave the salon without a next step: try again later.
          const attempt = (this.stepFailures.get(id) ?? 0) + 1;
          this.stepFailures.set(id, attempt);
          const retryIn = this.deliveryBackoffMs(attempt);
          this.log.error({ salonId: id, err, retryInMs: retryIn }, 'salon step failed; will try again');
          if (!this.stopped) this.scheduleWork(id, retryIn);
        },
      );
    });
    this.timers.set(id, timer);
  }

  private scheduleDelivery(id: string, wait: number): void {
    const timer = later(wait, () => {
      this.deliveryTimers.delete(id);
      void this.deliverOutbox(id).then(
        (retryIn) => {
          if (retryIn !== undefined && !this.stopped) this.scheduleDelivery(id, retryIn);
          else this.kick(id);
        },
        (err: unknown) => {
          const attempt = (this.deliveryAttempts.get(id) ?? 0) + 1;
          this.deliveryAttempts.set(id, attempt);
          const retryIn = this.deliveryBackoffMs(attempt);
          this.log.error({ salonId: id, err, retryInMs: retryIn }, 'delivery failed; will try again');
          if (!this.stopped) this.scheduleDelivery(id, retryIn);
        },
      );
    });
    this.deliveryTimers.set(id, timer);
  }

  private async work(id: string): Promise<void> {
    const salon = this.live.get(id);
    if (this.stopped || !salon) return;
    if (salon.synthesis?.status === 'pending') await this.writeSynthesis(id);
    else if (salon.status === 'running' && (salon.nextTurnAt ?? Infinity) <= this.clock.now()) await this.takeTurn(id);
  }

  private synthesizerFor(salon: SalonRecord, wanted: boolean | undefined): string | undefined {
    if (!(wanted ?? this.options.config.salon.synthesis)) return undefined;
    return this.options.config.salon.synthesizer ?? salon.seats.A.key;
  }

  /** Writes the closing synthesis. Whatever happens, the archive goes out after it: a failure is recorded, not retried. */
  private async writeSynthesis(id: string): Promise<void> {
    const salon = this.live.get(id);
    if (salon?.synthesis?.status !== 'pending') return;
    const key = salon.synthesis.modelKey;
    const model = Object.hasOwn(this.options.config.models, key) ? this.options.config.models[key] : undefined;
    const name = model?.name ?? key;
    const modelId = model?.model ?? key;
    const log = this.salonLog(salon).child({ synthesizer: key });
    let result: T.SynthesisResult;
    if (!model) {
      result = { ok: false, name, model: modelId, reason: `the model "${key}" is not in the config` };
    } else if (T.overBudget(salon)) {
      result = { ok: false, name, model: modelId, reason: `the salon had spent its ${formatUSD(salon.budgetUSD ?? 0)} budget` };
    } else {
      const prompt = buildSynthesisPrompt(salon, model.name, { persona: model.system, contextTokens: model.contextTokens, maxTokens: model.maxTokens });
      const controller = new AbortController();
      this.generating.set(id, controller);
      try {
        const reply = await this.options.models.complete({ modelKey: key, messages: prompt.messages, signal: controller.signal });
        const usage = reply.usage ?? { promptTokens: prompt.estimatedTokens, completionTokens: estimateTokens(reply.text), estimated: true };
        result = { ok: true, name, model: modelId, text: reply.text, usage, cost: costOf(usage, model.pricing) };
      } catch (err) {
        if (err instanceof ModelAbortedError) return; // shutting down: the next start writes it
        if (!(err instanceof ModelError)) log.error({ err }, 'synthesis failed unexpectedly');
        result = { ok: false, name, model: modelId, reason: err instanceof ModelError ? err.reason : 'an unexpected error on our side' };
      } finally {
        this.generating.delete(id);
      }
    }
    if (result.ok) log.info({ usage: result.usage }, 'synthesis written');
    else log.warn({ reason: result.reason }, 'synthesis could not be written');
    await this.change(id, (draft, now) => T.commitSynthesis(draft, result, now));
  }

  /**
   * Delivers owed posts in order. A transient failure returns the backoff before the next attempt; a permanent one
   * pauses the salon and stops delivery until it is resumed.
   *
   * Posting runs outside the salon's queue (one delivery loop per salon at a time), so a command never waits
   * behind Discord's rate limits; each record change it makes goes through the queue like any other.
   */
  private deliverOutbox(id: string): Promise<number | undefined> {
    if (this.deliveries.has(id)) return Promise.resolve(undefined);
    const loop = this.deliveryLoop(id).finally(() => this.deliveries.delete(id));
    this.deliveries.set(id, loop);
    return loop;
  }

  private async deliveryLoop(id: string): Promise<number | undefined> {
    while (!this.stopped) {
      const salon = this.live.get(id);
      const post = salon?.outbox[0];
      if (!salon || !post) return undefined;
      try {
        await this.options.publisher.deliver(salon, post, {
          maybeDelivered: this.uncertain.has(post.key),
          onPart: async (part, messageId) => {
            await this.change(id, (draft) => T.recordPostedPart(draft, post.key, part, messageId));
          },
        });
      } catch (err) {
        this.uncertain.add(post.key);
        const log = this.salonLog(salon);
        if (err instanceof PublishError && err.gone) {
          await this.threadGone(id, err.message);
          return undefined;
        }
        if (err instanceof PublishError && err.permanent && salon.status === 'closed') {
          // Nobody can resume a closed salon, so a post it can never make is dropped rather than kept forever.
          log.warn({ post: post.key, reason: err.message }, 'cannot post to the thread of a closed salon; dropping the post');
          await this.change(id, (draft) => T.markDelivered(draft, post.key));
          continue;
        }
        if (err instanceof PublishError && err.permanent) {
          log.warn({ post: post.key, reason: err.message }, 'cannot post to the thread; pausing the salon');
          // Nothing more can go out until someone resumes; keep the posts owed, stop trying.
          this.undeliverable.add(id);
          await this.change(id, (draft, now) => T.pauseUndeliverable(draft, err.message, now));
          return undefined;
        }
        const attempt = (this.deliveryAttempts.get(id) ?? 0) + 1;
        this.deliveryAttempts.set(id, attempt);
        const retryIn = this.deliveryBackoffMs(attempt);
        log.warn({ post: post.key, attempt, retryInMs: retryIn, err }, 'posting failed; will retry');
        return retryIn;
      }
      this.deliveryAttempts.delete(id);
      const after = await this.change(id, (draft) => T.markDelivered(draft, post.key));
      // Only once the record says so is the post known to be out.
      this.uncertain.delete(post.key);
      // A turn that waited for this post to go out may start now.
      if (post.kind === 'turn') this.kick(id);
      this.emit('delivered', after, post);
      if (post.kind === 'turn') this.emit('turn', after, after.turns[post.turnIndex]!);
      if (post.kind === 'notice' && post.notice === 'finished') this.emit('finished', after);
    }
    return undefined;
  }

  private seatSettings(salon: SalonRecord, seat: Seat) {
    const model = this.options.config.models[salon.seats[seat].key];
    if (!model) throw new ModelError(`the model "${salon.seats[seat].key}" is no longer in the config`, true);
    return { persona: model.system, contextTokens: model.contextTokens, maxTokens: model.maxTokens };
  }

  private async takeTurn(id: string): Promise<void> {
    const controller = new AbortController();
    const plan = await this.queue.run(id, async () => {
      const salon = this.live.get(id);
      const next = salon && nextTurn(salon);
      // Two steps may race to the same due turn; only one may write it.
      if (!salon || !next || salon.status !== 'running' || this.generating.has(id)) return undefined;
      // Write ahead of the thread by one turn at most: the next turn may be written while the last is being posted,
      // but a salon slowed by Discord never runs rounds ahead of what its audience sees (or can pause).
      const unposted = salon.outbox.filter((p) => p.kind === 'turn');
      if (unposted.length > 1 || (unposted[0] && unposted[0].turnIndex !== next.index - 1)) return undefined;
      if ((salon.nextTurnAt ?? Infinity) > this.clock.now()) return undefined;
      if (T.overBudget(salon)) {
        // Checked before every request: a salon never starts one its budget has already used up.
        await this.mutate(id, (draft, now) => T.pauseOverBudget(draft, now));
        return undefined;
      }
      try {
        const prompt = buildPrompt(salon, next.seat, this.seatSettings(salon, next.seat));
        this.generating.set(id, controller);
        return { salon, next, prompt };
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        await this.failTurn(id, next.seat, err);
        return undefined;
      }
    });
    if (!plan) return;
    const { salon, next, prompt } = plan;
    const seat = salon.seats[next.seat];
    const log = this.salonLog(salon).child({ turn: next.index, seat: next.seat, model: seat.model });
    const typing = this.startTyping(salon, next.seat);
    const draft = this.draftWriter(salon, next.index, log);
    const strip = ownNameStripper([seat.name, seat.key]);
    const startedAt = this.clock.now();
    try {
      log.debug({ estimatedTokens: prompt.estimatedTokens, trimmedTurns: prompt.trimmedTurns, streaming: !!draft }, 'turn started');
      const result = await this.options.models.complete({
        modelKey: seat.key,
        messages: prompt.messages,
        signal: controller.signal,
        onText: draft
          ? (text) => {
              // Once text shows, the typing indicator has done its job.
              typing.stop();
              draft.update(strip(text));
            }
          : undefined,
      });
      // The draft's messages become the turn's: an update still in flight lands, and its ids are saved, before the
      // commit copies them into the turn's post, which then edits them into the final text.
      const settled = await draft?.settle();
      if (settled?.maybePosted || (!draft && this.uncertainDrafts.delete(id))) this.uncertain.add(turnKey(id, next.index));
      const text = strip(result.text);
      // An endpoint that reports no usage still gets a ledger entry: estimated tokens, marked as such.
      const usage = result.usage ?? { promptTokens: prompt.estimatedTokens, completionTokens: estimateTokens(text), estimated: true };
      const pricing = this.options.config.models[seat.key]?.pricing;
      const recent = salon.turns.slice(-REPETITION_WINDOW).map((t) => t.text);
      const { salon: settings } = this.options.config;
      await this.change(id, (draft, now) => {
        T.commitTurn(
          draft,
          {
            index: next.index,
            text,
            finishReason: result.finishReason,
            usage,
            cost: costOf(usage, pricing),
            latencyMs: result.latencyMs,
            repetition: Math.round(repetitionScore(text, recent) * 1000) / 1000,
            startedAt,
            answered: prompt.answering,
          },
          now,
          { autoClose: settings.autoClose, synthesizer: this.synthesizerFor(draft, undefined), repetition: settings.repetition },
        );
      });
      log.info({ latencyMs: result.latencyMs, attempts: result.attempts, usage: result.usage, finishReason: result.finishReason }, 'turn written');
    } catch (err) {
      if (err instanceof ModelAbortedError) {
        log.info('turn aborted');
      } else {
        // Anything unforeseen counts as a transient failure: retried, then shown in the thread, never a silent stall.
        // The details go to the log; the thread gets a plain reason.
        const failure = err instanceof ModelError ? err : new ModelError('an unexpected error on our side', false);
        if (err instanceof ModelError) log.warn({ reason: err.reason, permanent: err.permanent, status: err.status }, 'turn failed');
        else log.error({ err }, 'turn failed unexpectedly');
        await this.queue.run(id, () => this.failTurn(id, next.seat, failure));
      }
    } finally {
      typing.stop();
      const unsettled = await draft?.settle();
      if (unsettled?.maybePosted) this.uncertainDrafts.add(id);
      this.generating.delete(id);
    }
  }

  private draftWriter(salon: SalonRecord, turnIndex: number, log: Logger): DraftWriter | undefined {
    const { publisher } = this.options;
    if (!this.options.config.salon.stream || !publisher.draft) return undefined;
    return new DraftWriter({
      publisher: { draft: publisher.draft.bind(publisher), pacing: publisher.pacing },
      salon,
      turnIndex,
      messageIds: salon.draft?.turnIndex === turnIndex ? salon.draft.messageIds : [],
      // A process that died mid-stream (or an update whose answer was lost) may have left a message nobody knows.
      maybePosted: this.uncertainDrafts.delete(salon.id),
      save: async (ids) => {
        await this.change(salon.id, (draft) => T.recordDraft(draft, turnIndex, ids));
        log.debug({ messageIds: ids }, 'draft messages saved');
      },
      // A turn written while the previous one is still being posted shows once that post is out, to keep the order.
      ready: () => (this.live.get(salon.id)?.outbox.length ?? 0) === 0,
      clock: this.clock,
      log,
    });
  }

  /** Must run inside the salon's queue. */
  private async failTurn(id: string, seat: Seat, err: ModelError): Promise<void> {
    await this.mutate(id, (draft, now) => {
      T.recordFailure(draft, { seat, reason: err.reason, permanent: err.permanent }, now, this.modelRetry);
    });
  }

  private startTyping(salon: SalonRecord, seat: Seat): { stop(): void } {
    const typing = this.options.publisher.typing?.bind(this.options.publisher);
    if (!typing) return { stop() {} };
    const send = () => void typing(salon, seat).catch(() => {});
    send();
    const timer = setInterval(send, this.options.publisher.pacing.typingIntervalMs);
    return { stop: () => clearInterval(timer) };
  }

  /** Resolves when the salon satisfies `predicate`, checked after every saved change. For callers that need to wait. */
  whenSalon(id: string, predicate: (salon: SalonRecord) => boolean, timeoutMs: number): Promise<SalonRecord> {
    return new Promise((resolve, reject) => {
      const onSaved = (salon: SalonRecord) => {
        if (salon.id === id && predicate(salon)) finish(salon);
      };
      const timer = setTimeout(() => {
        this.off('saved', onSaved);
        reject(new Error(`salon ${id} did not reach the expected state within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = (salon: SalonRecord) => {
        clearTimeout(timer);
        this.off('saved', onSaved);
        resolve(salon);
      };
      this.on('saved', onSaved);
      void this.get(id).then((salon) => salon && predicate(salon) && finish(salon), () => {});
    });
  }
}
