/**
 * Writes a salon's turns and its closing synthesis: the prompt, the model call (streamed into a draft when the
 * publisher can show one), and the commit. The model call runs outside the salon's queue (it can take minutes);
 * its result is committed only if the salon still expects that turn.
 *
 * One owner for a turn's messages from first draft to final post: the DraftWriter shows the turn while it
 * streams, and settles (its last update landed, its ids saved) before the turn is committed, so the commit hands
 * every draft message to the turn's post, which edits them into the final text.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { modelFailureText } from '../wording/index.js';
import { costOf, overBudget } from '../domain/ledger.js';
import { buildPrompt, buildSynthesisPrompt } from '../domain/prompts.js';
import { moderatorRequest, readModeratorAnswer } from '../domain/moderator.js';
import { planNext } from '../domain/order.js';
import type { Prompt } from '../domain/prompts.js';
import { repetitionScore, repetitionWindow } from '../domain/repetition.js';
import { nextTurn, seatAt, turnKey, type Participant, type SalonRecord, type Seat } from '../domain/salon.js';
import { estimateTokens, namePrefixStripper, othersLinesCutter } from '../domain/text.js';
import * as transitions from '../domain/transitions.js';
import * as outbox from '../domain/outbox.js';
import { DraftWriter } from './draft-writer.js';
import { ModelAbortedError, ModelError, type Clock, type ModelClient, type Publisher } from './ports.js';
import { isLetGo, type Room } from './room.js';
import type { Change } from './rooms.js';

export interface WriterDeps {
  config: Config;
  models: ModelClient;
  publisher: Publisher;
  clock: Clock;
  log: Logger;
  modelRetry: transitions.RetryPolicy;
  /** Runs `task` in the salon's queue, after every change queued before it. */
  exclusive<R>(room: Room, task: () => Promise<R>): Promise<R>;
  /**
   * Applies one change and saves it, inside `exclusive`. Bound to the room: once the engine has let the salon go
   * (closed, or taken over by another worker), a step still running for it can change nothing.
   */
  changeHeld(room: Room, apply: Change): Promise<SalonRecord>;
  /** Applies one change in the salon's queue and saves it; bound to the room, as changeHeld. */
  changeQueued(room: Room, apply: Change): Promise<SalonRecord>;
}

/** The model that writes a closing synthesis, or undefined for none. `wanted` overrides the config. */
export function synthesizerFor(config: Config, salon: SalonRecord, wanted: boolean | undefined): Participant | undefined {
  if (!(wanted ?? config.salon.synthesis)) return undefined;
  const key = config.salon.synthesizer ?? seatAt(salon, 0).key;
  const model = Object.hasOwn(config.models, key) ? config.models[key] : undefined;
  return { key, name: model?.name ?? key, model: model?.model ?? key };
}

/** What `prepare` found: ask the moderator first, or write the turn. */
type Plan =
  | { kind: 'moderate'; salon: SalonRecord; index: number; eligible: Seat[] }
  | { kind: 'write'; salon: SalonRecord; next: NonNullable<ReturnType<typeof nextTurn>>; seat: Seat; prompt: Prompt };

export class TurnWriter {
  constructor(private readonly deps: WriterDeps) {}

  /** Writes what is due: the closing synthesis, or the next turn once its time has come. */
  async writeDue(room: Room): Promise<void> {
    const salon = room.record;
    if (room.disposed) return;
    if (salon.synthesis?.status === 'pending') await this.writeSynthesis(room);
    else if (salon.status === 'running' && (salon.nextTurnAt ?? Infinity) <= this.deps.clock.now()) await this.takeTurn(room);
  }

  /**
   * Writes the salon's next turn if it is due and may be written now. In moderated order the moderator is asked
   * first, outside the salon's queue as a model call is; its pick is saved with the turn's start.
   */
  private async takeTurn(room: Room): Promise<void> {
    const { deps } = this;
    const { id } = room;
    const controller = new AbortController();
    let plan: Plan | undefined;
    try {
      plan = await deps.exclusive(room, () => this.prepare(room, controller));
      if (plan?.kind === 'moderate') {
        const { salon, index, eligible } = plan;
        const call = await this.moderate(room, salon, index, eligible, controller.signal);
        plan = await deps.exclusive(room, () => this.prepare(room, controller, call));
      }
    } catch (err) {
      // Whatever stopped the pick (shutting down, the salon let go, a store failure), the room is free again.
      if (room.writing === controller) room.writing = undefined;
      if (err instanceof ModelAbortedError) return;
      throw err;
    }
    if (plan?.kind !== 'write') {
      if (room.writing === controller) room.writing = undefined;
      return;
    }
    const { salon, next, seat: speaker, prompt } = plan;
    const seat = seatAt(salon, speaker);
    const log = deps.log.child({ salonId: id, turn: next.index, seat: speaker, model: seat.model });
    const typing = this.startTyping(room, speaker);
    const draft = this.draftWriter(room, next.index, log);
    // A reply that opens with any participant's name (its own, or one it answers) loses the prefix, and one that goes
    // on to write another participant's lines is cut where they begin: each model speaks only for itself.
    const stripPrefix = namePrefixStripper(salon.seats.flatMap((p) => [p.name, p.key]).sort((a, b) => b.length - a.length));
    const cutOthers = othersLinesCutter(salon.seats.filter((_, s) => s !== speaker).map((p) => p.name));
    const strip = (text: string) => cutOthers(stripPrefix(text));
    const startedAt = deps.clock.now();
    try {
      log.debug({ estimatedTokens: prompt.estimatedTokens, trimmedTurns: prompt.trimmedTurns, streaming: !!draft }, 'turn started');
      const result = await deps.models.complete({
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
      if (settled?.maybePosted || (!draft && room.uncertainDraft)) room.uncertainPosts.add(turnKey(id, next.index));
      const text = strip(result.text);
      // An endpoint that reports no usage still gets a ledger entry: estimated tokens, marked as such.
      const usage = result.usage ?? { promptTokens: prompt.estimatedTokens, completionTokens: estimateTokens(text), estimated: true };
      const pricing = deps.config.models[seat.key]?.pricing;
      const recent = salon.turns.slice(-repetitionWindow(salon.seats.length));
      const settings = deps.config.salon;
      await deps.changeQueued(room, (record, now) =>
        transitions.commitTurn(
          record,
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
          { autoClose: settings.autoClose, synthesizer: synthesizerFor(deps.config, record, undefined), repetition: settings.repetition },
        ),
      );
      // From here an unknown draft message is the committed turn's post's to find, not the next turn's.
      room.uncertainDraft = false;
      log.info({ latencyMs: result.latencyMs, attempts: result.attempts, usage: result.usage, finishReason: result.finishReason }, 'turn written');
    } catch (err) {
      if (err instanceof ModelAbortedError) {
        log.info('turn aborted');
      } else if (isLetGo(err)) {
        // The engine let the salon go meanwhile (closed, or another worker took it over): nothing here is ours to save.
        log.info('turn dropped: the salon is no longer run here');
      } else {
        // Anything unforeseen counts as a transient failure: retried, then shown in the thread, never a silent stall.
        // The details go to the log; the thread gets a plain reason.
        const failure = err instanceof ModelError ? err : new ModelError(modelFailureText({ code: 'unexpected' }), false);
        if (err instanceof ModelError) log.warn({ reason: failure.reason, permanent: failure.permanent, status: failure.status }, 'turn failed');
        else log.error({ err }, 'turn failed unexpectedly');
        await deps.exclusive(room, () => this.failTurn(room, speaker, failure));
      }
    } finally {
      typing.stop();
      // A turn that failed or was aborted keeps its draft messages for the next attempt, which edits them (and
      // looks for one whose id was lost).
      const unsettled = await draft?.settle();
      if (unsettled?.maybePosted && nextTurn(room.record)?.index === next.index) room.uncertainDraft = true;
      room.writing = undefined;
    }
  }

  /**
   * Inside the salon's queue: whether the next turn may be written now, and if so, its pick saved with its start
   * and its prompt. Asks for the moderator first when the pick needs one (`moderated` is its answer, once asked).
   */
  private async prepare(room: Room, controller: AbortController, moderated?: transitions.ModeratorCall): Promise<Plan | undefined> {
    const { deps } = this;
    const salon = room.record;
    const next = nextTurn(salon);
    if (room.disposed) return undefined;
    // Two steps may race to the same due turn; only one may write it. A change queued before this one may have
    // ended the salon (a close, a deleted thread), and the engine dropped its room.
    const mayWrite = next && salon.status === 'running' && (!room.writing || room.writing === controller);
    if (!mayWrite) {
      // The moderator was asked and paid for: that counts, and its pick stands for when the salon goes on.
      if (moderated) await deps.changeHeld(room, (draft, now) => transitions.startTurn(draft, next?.index ?? -1, now, moderated));
      return undefined;
    }
    // Write ahead of the thread by one turn at most: the next turn may be written while the last is being posted,
    // but a salon slowed by Discord never runs rounds ahead of what its audience sees (or can pause).
    const unposted = salon.outbox.filter((p) => p.kind === 'turn');
    if (unposted.length > 1 || (unposted[0] && unposted[0].turnIndex !== next.index - 1)) return undefined;
    if ((salon.nextTurnAt ?? Infinity) > deps.clock.now()) return undefined;
    if (!moderated && overBudget(salon)) {
      // Checked before every request, the moderator's included: a salon never starts one its budget has already used up.
      await deps.changeHeld(room, (draft, now) => transitions.pauseOverBudget(draft, now));
      return undefined;
    }
    const pick = planNext(salon, next.index);
    if (!moderated && 'ask' in pick && salon.moderator) {
      room.writing = controller;
      return { kind: 'moderate', salon, index: next.index, eligible: pick.ask };
    }
    // Saved before the model is called: a question saved after this, on any process, waits for the next turn,
    // which is what its reply says. Another process's change saved meanwhile is in the record it returns.
    const started = await deps.changeHeld(room, (draft, now) => transitions.startTurn(draft, next.index, now, moderated));
    const speaker = started.next?.index === next.index ? started.next.seat : undefined;
    if (started.writing?.index !== next.index || speaker === undefined) return undefined;
    try {
      const prompt = buildPrompt(started, speaker, this.seatSettings(started, speaker));
      room.writing = controller;
      return { kind: 'write', salon: started, next, seat: speaker, prompt };
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      await this.failTurn(room, speaker, err);
      return undefined;
    }
  }

  /** Asks the moderator who speaks next. Never fails the turn: a failed or unusable answer is a miss, and the fallback picks. */
  private async moderate(room: Room, salon: SalonRecord, index: number, eligible: Seat[], signal: AbortSignal): Promise<transitions.ModeratorCall> {
    const { deps } = this;
    const moderator = salon.moderator!;
    const log = deps.log.child({ salonId: room.id, turn: index, moderator: moderator.key });
    const model = Object.hasOwn(deps.config.models, moderator.key) ? deps.config.models[moderator.key] : undefined;
    if (!model) {
      log.warn('the moderator is no longer in the config; the seat that spoke least recently speaks');
      return { answer: { miss: 'failed' } };
    }
    const request = moderatorRequest(salon, index, eligible, model.system);
    try {
      const reply = await deps.models.complete({
        modelKey: moderator.key,
        messages: request.messages,
        signal,
        answerSchema: request.answerSchema,
        timeoutMs: deps.config.salon.moderatorTimeoutSeconds * 1000,
        maxRetries: 0,
      });
      const usage = reply.usage ?? {
        promptTokens: estimateTokens(request.messages.map((m) => m.content).join('\n')),
        completionTokens: estimateTokens(reply.text),
        estimated: true,
      };
      const answer = readModeratorAnswer(salon, reply.text, eligible);
      log.info({ latencyMs: reply.latencyMs, answer, usage: reply.usage }, 'moderator answered');
      return { answer, usage, cost: costOf(usage, model.pricing) };
    } catch (err) {
      if (err instanceof ModelAbortedError) throw err;
      log.warn({ reason: err instanceof ModelError ? err.reason : String(err) }, 'moderator failed; the seat that spoke least recently speaks');
      // A request that failed is not billed: it counts as a call, at no cost.
      return { answer: { miss: 'failed' }, cost: { usd: 0, source: 'pricing' } };
    }
  }

  /** Writes the closing synthesis. Whatever happens, the archive goes out after it: a failure is recorded, not retried. */
  private async writeSynthesis(room: Room): Promise<void> {
    const { deps } = this;
    const salon = room.record;
    if (room.disposed || salon.synthesis?.status !== 'pending') return;
    const key = salon.synthesis.modelKey;
    const model = Object.hasOwn(deps.config.models, key) ? deps.config.models[key] : undefined;
    const name = model?.name ?? key;
    const modelId = model?.model ?? key;
    const log = deps.log.child({ salonId: room.id, synthesizer: key });
    // The room stays "writing" until the synthesis is committed, as a turn does: a kick in between (a post
    // delivered) would otherwise find it still pending and write it a second time.
    const controller = new AbortController();
    room.writing = controller;
    try {
      let result: transitions.SynthesisResult;
      if (!model) {
        result = { ok: false, name, model: modelId, reason: modelFailureText({ code: 'not_in_config', modelKey: key, by: 'synthesizer' }) };
      } else {
        const prompt = buildSynthesisPrompt(salon, model.name, { persona: model.system, contextTokens: model.contextTokens, maxTokens: model.maxTokens });
        try {
          const reply = await deps.models.complete({ modelKey: key, messages: prompt.messages, signal: controller.signal });
          const usage = reply.usage ?? { promptTokens: prompt.estimatedTokens, completionTokens: estimateTokens(reply.text), estimated: true };
          result = { ok: true, name, model: modelId, text: reply.text, usage, cost: costOf(usage, model.pricing) };
        } catch (err) {
          if (err instanceof ModelAbortedError) return; // shutting down: the next start writes it
          if (!(err instanceof ModelError)) log.error({ err }, 'synthesis failed unexpectedly');
          result = { ok: false, name, model: modelId, reason: err instanceof ModelError ? err.reason : modelFailureText({ code: 'unexpected' }) };
        }
      }
      if (result.ok) log.info({ usage: result.usage }, 'synthesis written');
      else log.warn({ reason: result.reason }, 'synthesis could not be written');
      await deps.changeQueued(room, (draft, now) => transitions.commitSynthesis(draft, result, now));
    } finally {
      room.writing = undefined;
    }
  }

  private seatSettings(salon: SalonRecord, seat: Seat) {
    const { key } = seatAt(salon, seat);
    const model = this.deps.config.models[key];
    if (!model) throw new ModelError(modelFailureText({ code: 'not_in_config', modelKey: key, by: 'seat' }), true);
    return { persona: model.system, contextTokens: model.contextTokens, maxTokens: model.maxTokens };
  }

  /** Must run inside the salon's queue. */
  private async failTurn(room: Room, seat: Seat, err: ModelError): Promise<void> {
    await this.deps.changeHeld(room, (draft, now) => {
      transitions.recordFailure(draft, { seat, reason: err.reason, permanent: err.permanent }, now, this.deps.modelRetry);
    });
  }

  private draftWriter(room: Room, turnIndex: number, log: Logger): DraftWriter | undefined {
    const { publisher, config, clock } = this.deps;
    if (!config.salon.stream || !publisher.draft) return undefined;
    const salon = room.record;
    return new DraftWriter({
      publisher: { draft: (salon, update) => room.guarded(() => publisher.draft!(salon, update)), pacing: publisher.pacing },
      salon: () => room.record,
      turnIndex,
      messageIds: salon.draft?.turnIndex === turnIndex ? salon.draft.messageIds : [],
      maybePosted: room.uncertainDraft,
      save: async (ids) => {
        await this.deps.changeQueued(room, (draft) => outbox.recordDraft(draft, turnIndex, ids));
        log.debug({ messageIds: ids }, 'draft messages saved');
      },
      // A turn written while the previous one is still being posted shows once that post is out, to keep the order.
      ready: () => room.record.outbox.length === 0,
      clock,
      log,
    });
  }

  private startTyping(room: Room, seat: Seat): { stop(): void } {
    const { publisher } = this.deps;
    const typing = publisher.typing?.bind(publisher);
    if (!typing) return { stop() {} };
    const salon = room.record;
    const send = () => void room.guarded(() => typing(salon, seat)).catch(() => {});
    send();
    const timer = setInterval(send, publisher.pacing.typingIntervalMs);
    return { stop: () => clearInterval(timer) };
  }
}
