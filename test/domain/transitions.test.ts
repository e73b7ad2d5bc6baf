import { describe, expect, it } from 'vitest';
import { SalonError } from '../../src/domain/errors.js';
import { noticeText, refusalText, pauseText } from '../../src/wording/index.js';
import {
  SCHEMA_VERSION,
  createSalon,
  isActive,
  isLive,
  questionsByTurn,
  nextTurn,
  pendingInterjections,
  questionsFor,
  roundOf,
  roundsDone,
  totalTurns,
  turnKey,
  type Notice,
  type Post,
  type SalonRecord,
} from '../../src/domain/salon.js';
import {
  addInterjection,
  close,
  commitTurn,
  pause,
  pauseUndeliverable,
  recordFailure,
  resume,
  startTurn,
  type RetryPolicy,
} from '../../src/domain/transitions.js';
import { markDelivered, recordDraft, recordPostedPart } from '../../src/domain/outbox.js';
import { knownSpeaker } from '../../src/domain/order.js';
import { CLAUDE, GLM, SEED_TURNS, T0, generated, newSalon, playTurns, salonInput, snapshot } from './fixtures.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Expects `fn` to throw a SalonError with `code`, and the salon to be left exactly as it was. */
function expectRefusal(salon: SalonRecord, code: SalonError['code'], fn: () => unknown): void {
  const before = snapshot(salon);
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(SalonError);
  expect((thrown as SalonError).code).toBe(code);
  expect(refusalText((thrown as SalonError).refusal).length).toBeGreaterThan(10);
  expect(salon).toEqual(before);
}

/** The words of the refusal `fn` throws. */
function refusalWords(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SalonError) return refusalText(err.refusal);
    throw err;
  }
  throw new Error('no refusal');
}

function notices(salon: SalonRecord, code?: Notice['code']): Extract<Post, { kind: 'notice' }>[] {
  return salon.outbox.filter((p): p is Extract<Post, { kind: 'notice' }> => p.kind === 'notice' && (code === undefined || p.notice.code === code));
}

/** A notice as the thread shows it. */
function shown(post: Extract<Post, { kind: 'notice' }>): string {
  return noticeText(post.notice);
}

const policy: RetryPolicy = { maxAttempts: 3, backoffMs: (attempt) => [30_000, 120_000, 600_000][attempt - 1] ?? 600_000 };

describe('createSalon', () => {
  it('starts running with a header post owed and the first turn due at once', () => {
    const salon = createSalon(salonInput(), T0);
    expect(salon.schema).toBe(SCHEMA_VERSION);
    expect(salon.status).toBe('running');
    expect(salon.turns).toEqual([]);
    expect(salon.interjections).toEqual([]);
    expect(salon.outbox).toEqual([{ key: 'thread-1:header', kind: 'header', messageIds: [] }]);
    expect(salon.nextTurnAt).toBe(T0);
    expect(salon.createdAt).toBe(iso(T0));
    expect(salon.updatedAt).toBe(iso(T0));
    expect(salon.version).toBe(0);
    expect(salon.seats).toEqual([CLAUDE, GLM]);
    expect(salon.rounds).toBe(2);
    expect(salon.delaySeconds).toBe(20);
    expect(salon.topic).toBe(salonInput().topic);
    expect(salon.starter).toEqual({ id: 'user-1', name: 'Ada' });
    expect(salon.finishedAt).toBeUndefined();
    expect(salon.closedAt).toBeUndefined();
    expect(isActive(salon)).toBe(true);
    expect(isLive(salon)).toBe(true);
  });
});

describe('turn order', () => {
  it('seats alternate A, B from index 0 and rounds count pairs from 1', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 6);
    expect(salon.turns.map((t) => t.seat)).toEqual([0, 1, 0, 1, 0, 1]);
    expect([0, 1, 2, 3, 4, 5].map((i) => roundOf(salon, i))).toEqual([1, 1, 2, 2, 3, 3]);
    expect(totalTurns({ seats: [CLAUDE, GLM], rounds: 5 })).toBe(10);
  });

  it('nextTurn walks A, B, A, B … for `rounds` rounds, flags the last round, then stops', () => {
    const salon = newSalon({ rounds: 3 });
    const seen: { index: number; seat?: number; round: number; last: boolean; final: boolean }[] = [];
    let clock = T0;
    for (let step = 0; step < 10; step++) {
      const next = nextTurn(salon);
      if (!next) break;
      seen.push({ ...next, seat: knownSpeaker(salon, next.index) });
      clock += 60_000;
      expect(commitTurn(salon, generated(salon), clock)).toBeDefined();
    }
    expect(seen).toEqual([
      { index: 0, seat: 0, round: 1, last: false, final: false },
      { index: 1, seat: 1, round: 1, last: false, final: false },
      { index: 2, seat: 0, round: 2, last: false, final: false },
      { index: 3, seat: 1, round: 2, last: false, final: false },
      { index: 4, seat: 0, round: 3, last: true, final: false },
      { index: 5, seat: 1, round: 3, last: true, final: true },
    ]);
    expect(nextTurn(salon)).toBeUndefined();
    expect(salon.turns).toHaveLength(6);
    expect(roundsDone(salon)).toBe(3);
  });

  it('a one-round salon: both turns are the last round', () => {
    const salon = newSalon({ rounds: 1 });
    expect(nextTurn(salon)).toEqual({ index: 0, round: 1, last: true, final: false });
    expect(knownSpeaker(salon, 0)).toBe(0);
    commitTurn(salon, generated(salon), T0 + 1000);
    expect(salon.status).toBe('running');
    expect(nextTurn(salon)).toEqual({ index: 1, round: 1, last: true, final: true });
    expect(knownSpeaker(salon, 1)).toBe(1);
    commitTurn(salon, generated(salon), T0 + 2000);
    expect(salon.status).toBe('finished');
  });

  it('roundsDone counts only complete rounds', () => {
    const salon = newSalon({ rounds: 3 });
    expect(roundsDone(salon)).toBe(0);
    playTurns(salon, 1);
    expect(roundsDone(salon)).toBe(0);
    playTurns(salon, 1, T0 + 100_000);
    expect(roundsDone(salon)).toBe(1);
    playTurns(salon, 1, T0 + 200_000);
    expect(roundsDone(salon)).toBe(1);
  });
});

describe('commitTurn', () => {
  it('appends the turn with the seat, round, name and model of whoever sits there', () => {
    const salon = newSalon();
    const started = T0 + 1_000;
    const now = T0 + 41_000;
    const usage = { promptTokens: 812, completionTokens: 230, totalTokens: 1042 };
    const turn = commitTurn(salon, generated(salon, { usage, startedAt: started }), now);
    expect(turn).toEqual({
      index: 0,
      seat: 0,
      round: 1,
      name: 'Claude Opus 4.5',
      modelKey: 'claude',
      model: 'anthropic/claude-opus-4.5',
      text: SEED_TURNS[0],
      finishReason: 'stop',
      usage,
      startedAt: iso(started),
      finishedAt: iso(now),
      answered: [],
    });
    expect(salon.turns).toEqual([turn]);

    const second = commitTurn(salon, generated(salon, { finishReason: 'length' }), now + 60_000);
    expect(second).toMatchObject({ index: 1, seat: 1, round: 1, name: 'GLM 4.7', modelKey: 'glm', model: 'z-ai/glm-4.7', finishReason: 'length' });
    expect(salon.turns.map((t) => t.seat)).toEqual([0, 1]);
  });

  it('pushes a turn post into the outbox and schedules the next turn after the delay', () => {
    const salon = newSalon({ delaySeconds: 45 });
    const now = T0 + 30_000;
    commitTurn(salon, generated(salon), now);
    expect(salon.outbox).toContainEqual({ key: turnKey('thread-1', 0), kind: 'turn', turnIndex: 0, messageIds: [] });
    expect(turnKey('thread-1', 0)).toBe('thread-1:turn:0');
    expect(salon.nextTurnAt).toBe(now + 45_000);
    expect(salon.updatedAt).toBe(iso(now));
    expect(salon.status).toBe('running');
  });

  it('with no delay, the next turn is due at once', () => {
    const salon = newSalon({ delaySeconds: 0 });
    commitTurn(salon, generated(salon), T0 + 5_000);
    expect(salon.nextTurnAt).toBe(T0 + 5_000);
  });

  it('marks the interjections it answered, and only those', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 1);
    const q1 = addInterjection(salon, { id: 'm-1', author: { id: 'u-2', name: 'Grace' }, text: 'Do you dream between queries?' }, T0 + 40_000).interjection;
    const q2 = addInterjection(salon, { id: 'm-2', author: { id: 'u-3', name: 'Alan' }, text: 'What would change your mind?' }, T0 + 41_000).interjection;
    expect(q1.afterTurns).toBe(1);
    expect(q1.at).toBe(iso(T0 + 40_000));
    expect(pendingInterjections(salon).map((q) => q.id)).toEqual(['m-1', 'm-2']);

    // The prompt for turn 1 carried only the first question (the second came while it was being written).
    commitTurn(salon, generated(salon, { answered: ['m-1'] }), T0 + 90_000);
    expect(salon.interjections.find((q) => q.id === 'm-1')?.answeredBy).toBe(1);
    expect(salon.interjections.find((q) => q.id === 'm-2')?.answeredBy).toBeUndefined();
    expect(salon.turns[1]?.answered).toEqual(['m-1']);
    expect(pendingInterjections(salon).map((q) => q.id)).toEqual(['m-2']);
    expect(q2.afterTurns).toBe(1);

    // A later turn that lists an already-answered question does not steal it.
    commitTurn(salon, generated(salon, { answered: ['m-1', 'm-2'] }), T0 + 150_000);
    expect(salon.interjections.find((q) => q.id === 'm-1')?.answeredBy).toBe(1);
    expect(salon.interjections.find((q) => q.id === 'm-2')?.answeredBy).toBe(2);
    expect(pendingInterjections(salon)).toEqual([]);
  });

  it('after the last B turn: finished, nothing scheduled, one finished notice; the salon stays open', () => {
    const salon = newSalon({ rounds: 2 });
    const end = playTurns(salon, 4);
    expect(salon.status).toBe('finished');
    expect(salon.nextTurnAt).toBeUndefined();
    expect(salon.finishedAt).toBe(iso(end));
    expect(salon.closedAt).toBeUndefined();
    const finished = notices(salon, 'finished');
    expect(finished).toHaveLength(1);
    expect(shown(finished[0]!)).toContain('finished after 2 rounds');
    expect(shown(finished[0]!)).toContain('/salon close');
    expect(salon.outbox.some((p) => p.kind === 'archive')).toBe(false);
    expect(isActive(salon)).toBe(false);
    // the notice comes after the last turn's post
    const keys = salon.outbox.map((p) => p.key);
    expect(keys.indexOf(finished[0]!.key)).toBeGreaterThan(keys.indexOf(turnKey(salon.id, 3)));
  });

  it('the finished notice counts questions asked too late', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 1);
    addInterjection(salon, { id: 'late', author: { id: 'u-9', name: 'Mary' }, text: 'And the soul?' }, T0 + 31_000);
    // the final turn was already being written without it
    commitTurn(salon, generated(salon, { answered: [] }), T0 + 90_000);
    expect(shown(notices(salon, 'finished')[0]!)).toContain('One question was asked too late to be answered.');
    expect(shown(notices(salon, 'finished')[0]!)).toContain('finished after 1 round.');
  });

  it('with autoClose, the last turn finishes and closes the salon, with an archive post after the notice', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 1);
    const end = T0 + 120_000;
    const turn = commitTurn(salon, generated(salon), end, { autoClose: true });
    expect(turn?.index).toBe(1);
    expect(salon.status).toBe('closed');
    expect(salon.closedAt).toBe(iso(end));
    expect(salon.finishedAt).toBe(iso(end));
    expect(salon.nextTurnAt).toBeUndefined();
    expect(salon.outbox.map((p) => p.kind)).toEqual(['header', 'turn', 'turn', 'notice', 'archive']);
    expect(shown(notices(salon, 'finished')[0]!)).toContain('The transcript follows');
    expect(salon.outbox.at(-1)).toEqual({ key: 'thread-1:archive', kind: 'archive', messageIds: [] });
    expect(isLive(salon)).toBe(true);
  });

  it('autoClose does nothing before the last turn', () => {
    const salon = newSalon({ rounds: 2 });
    commitTurn(salon, generated(salon), T0 + 1000, { autoClose: true });
    commitTurn(salon, generated(salon), T0 + 2000, { autoClose: true });
    commitTurn(salon, generated(salon), T0 + 3000, { autoClose: true });
    expect(salon.status).toBe('running');
    expect(salon.outbox.some((p) => p.kind === 'archive' || p.kind === 'notice')).toBe(false);
  });

  it('a stale index (turn already taken, or not yet due) is dropped and changes nothing', () => {
    const salon = newSalon();
    playTurns(salon, 1);
    const before = snapshot(salon);
    expect(commitTurn(salon, generated(salon, { index: 0 }), T0 + 99_000)).toBeUndefined();
    expect(commitTurn(salon, generated(salon, { index: 2 }), T0 + 99_000)).toBeUndefined();
    expect(salon).toEqual(before);
  });

  it('a closed salon takes no turn and changes nothing', () => {
    const salon = newSalon();
    playTurns(salon, 1);
    close(salon, T0 + 60_000);
    const before = snapshot(salon);
    expect(commitTurn(salon, generated(salon), T0 + 99_000)).toBeUndefined();
    expect(salon).toEqual(before);
  });

  it('a finished salon takes no more turns', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    const before = snapshot(salon);
    expect(commitTurn(salon, { ...generated(salon), index: 2 }, T0 + 999_000)).toBeUndefined();
    expect(salon).toEqual(before);
  });

  it('a salon paused mid-turn keeps the committed turn and schedules nothing', () => {
    const salon = newSalon({ rounds: 2 });
    playTurns(salon, 1);
    // turn 1 is being written when a person pauses
    pause(salon, T0 + 70_000);
    const turn = commitTurn(salon, generated(salon), T0 + 90_000);
    expect(turn?.index).toBe(1);
    expect(salon.turns).toHaveLength(2);
    expect(salon.status).toBe('paused');
    expect(salon.nextTurnAt).toBeUndefined();
    expect(salon.outbox).toContainEqual({ key: turnKey(salon.id, 1), kind: 'turn', turnIndex: 1, messageIds: [] });
    // resuming speaks at once
    resume(salon, T0 + 500_000);
    expect(salon.nextTurnAt).toBe(T0 + 500_000);
    expect(nextTurn(salon)?.index).toBe(2);
  });

  it('a successful turn clears the failure left by an earlier attempt', () => {
    const salon = newSalon();
    expect(recordFailure(salon, { seat: 0, reason: 'HTTP 503 from the endpoint', permanent: false }, T0 + 5_000, policy)).toBe('retry');
    expect(salon.failure).toBeDefined();
    commitTurn(salon, generated(salon), T0 + 60_000);
    expect(salon.failure).toBeUndefined();
  });
});

describe('addInterjection', () => {
  const ada = { id: 'user-1', name: 'Ada' };

  it('records the question with its author, time and position, waiting for an answer', () => {
    const salon = newSalon();
    playTurns(salon, 2);
    const { interjection: q, answeredIn } = addInterjection(salon, { id: 'msg-77', author: ada, text: 'Would you want this saved?' }, T0 + 100_000);
    expect(answeredIn).toEqual({ round: 2, seat: 0, next: true });
    expect(q).toEqual({ id: 'msg-77', author: ada, text: 'Would you want this saved?', at: iso(T0 + 100_000), afterTurns: 2 });
    expect(salon.interjections).toEqual([q]);
    expect(pendingInterjections(salon)).toEqual([q]);
  });

  it('is accepted while paused', () => {
    const salon = newSalon();
    pause(salon, T0 + 1);
    expect(addInterjection(salon, { id: 'q', author: ada, text: 'Hello?' }, T0 + 2).interjection.afterTurns).toBe(0);
  });

  it('refuses the same id twice (a redelivered event counts once)', () => {
    const salon = newSalon();
    addInterjection(salon, { id: 'msg-1', author: ada, text: 'First' }, T0 + 10);
    expectRefusal(salon, 'question_duplicate', () => addInterjection(salon, { id: 'msg-1', author: ada, text: 'First, again' }, T0 + 20));
    expect(salon.interjections).toHaveLength(1);
  });

  it('refuses a closed salon', () => {
    const salon = newSalon();
    close(salon, T0 + 10);
    expectRefusal(salon, 'closed', () => addInterjection(salon, { id: 'msg-1', author: ada, text: 'Too late?' }, T0 + 20));
  });

  it('refuses a finished salon, since no model would answer', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    expectRefusal(salon, 'no_turn_left', () => addInterjection(salon, { id: 'msg-1', author: ada, text: 'One more thing' }, T0 + 999_000));
  });

  describe('while a turn is being written', () => {
    it('leaves the question to the turn after it, whose seat the answer names, even if the turn is written again', () => {
      const salon = newSalon({ rounds: 2 });
      playTurns(salon, 1);
      startTurn(salon, 1, T0 + 1_000);
      const { interjection, answeredIn } = addInterjection(salon, { id: 'q1', author: ada, text: 'And memory?' }, T0 + 2_000);
      expect(interjection.afterTurns).toBe(2);
      expect(answeredIn).toEqual({ round: 2, seat: 0, next: false });
      // The turn in flight fails and is written again: it still cannot take the question.
      expect(questionsFor(salon, 1, 1)).toEqual([]);
      expect(questionsFor(salon, 0, 2).map((q) => q.id)).toEqual(['q1']);
    });

    it('a question for the seat writing now waits for its next turn', () => {
      const salon = newSalon({ rounds: 3 });
      startTurn(salon, 0, T0);
      const { answeredIn } = addInterjection(salon, { id: 'q1', author: ada, text: 'You, A?', to: 0 }, T0 + 1);
      expect(answeredIn).toEqual({ round: 2, seat: 0, next: false });
    });

    it('refuses a question during the last turn, saying the last turn is being written', () => {
      const salon = newSalon({ rounds: 1 });
      playTurns(salon, 1);
      startTurn(salon, 1, T0 + 1_000);
      expectRefusal(salon, 'no_turn_left', () => addInterjection(salon, { id: 'q1', author: ada, text: 'Too late?' }, T0 + 2_000));
      expect(refusalWords(() => addInterjection(salon, { id: 'q1', author: ada, text: 'Too late?' }, T0 + 2_000))).toMatch(
        /last turn is already being written/,
      );
    });

    it('forgets the turn in flight once it is committed, fails or the salon closes', () => {
      const committed = newSalon();
      startTurn(committed, 0, T0);
      playTurns(committed, 1);
      expect(committed.writing).toBeUndefined();
      const failed = newSalon();
      startTurn(failed, 0, T0);
      recordFailure(failed, { seat: 0, reason: 'down', permanent: false }, T0 + 1, { maxAttempts: 3, backoffMs: () => 1_000 });
      expect(failed.writing).toBeUndefined();
      const closed = newSalon();
      startTurn(closed, 0, T0);
      close(closed, T0 + 1);
      expect(closed.writing).toBeUndefined();
    });

    it('marks nothing for a turn that is not the next one, or a salon that is not running', () => {
      const salon = newSalon();
      startTurn(salon, 1, T0);
      expect(salon.writing).toBeUndefined();
      pause(salon, T0 + 1);
      startTurn(salon, 0, T0 + 2);
      expect(salon.writing).toBeUndefined();
    });
  });
});

describe('questionsByTurn', () => {
  it('groups questions by the turn that answered them, in the order asked, leaving out those still waiting', () => {
    const salon = newSalon();
    addInterjection(salon, { id: 'q1', author: { id: 'u', name: 'U' }, text: 'one' }, T0);
    addInterjection(salon, { id: 'q2', author: { id: 'u', name: 'U' }, text: 'two' }, T0);
    playTurns(salon, 1);
    addInterjection(salon, { id: 'q3', author: { id: 'u', name: 'U' }, text: 'three' }, T0 + 60_000);
    const byTurn = questionsByTurn(salon);
    expect([...byTurn.keys()]).toEqual([0]);
    expect(byTurn.get(0)!.map((q) => q.id)).toEqual(['q1', 'q2']);
    // With another placement, the waiting question is placed too.
    const byAsked = questionsByTurn(salon, (q) => q.afterTurns);
    expect(byAsked.get(0)!.map((q) => q.id)).toEqual(['q1', 'q2']);
    expect(byAsked.get(1)!.map((q) => q.id)).toEqual(['q3']);
  });
});

describe('pause / resume / close', () => {
  it('close decides once that a salon whose budget is spent gets no synthesis: failed with the reason, archive at once', () => {
    const salon = newSalon({ budgetUSD: 0.01 });
    commitTurn(salon, generated(salon, { cost: { usd: 0.02, source: 'endpoint' } }), T0 + 30_000);
    close(salon, T0 + 60_000, { synthesizer: CLAUDE });
    expect(salon.synthesis).toEqual({
      status: 'failed',
      modelKey: CLAUDE.key,
      name: CLAUDE.name,
      model: CLAUDE.model,
      reason: 'the salon had spent its $0.01 budget',
      at: iso(T0 + 60_000),
    });
    expect(salon.outbox.at(-1)?.kind).toBe('archive');
  });

  it('pause stops the schedule; resume restarts at once and clears any reason', () => {
    const salon = newSalon();
    playTurns(salon, 1);
    pause(salon, T0 + 40_000);
    expect(salon.status).toBe('paused');
    expect(salon.nextTurnAt).toBeUndefined();
    expect(salon.pausedReason).toBeUndefined();
    expect(salon.updatedAt).toBe(iso(T0 + 40_000));
    expect(isActive(salon)).toBe(true);

    resume(salon, T0 + 300_000);
    expect(salon.status).toBe('running');
    expect(salon.pausedReason).toBeUndefined();
    expect(salon.nextTurnAt).toBe(T0 + 300_000);
    expect(salon.updatedAt).toBe(iso(T0 + 300_000));
  });

  it('refuses to pause a paused salon', () => {
    const salon = newSalon();
    pause(salon, T0 + 1);
    expectRefusal(salon, 'already_paused', () => pause(salon, T0 + 2));
  });

  it('refuses to pause a finished salon', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    expectRefusal(salon, 'nothing_to_pause', () => pause(salon, T0 + 999_000));
  });

  it('refuses to resume a running salon', () => {
    const salon = newSalon();
    expectRefusal(salon, 'already_running', () => resume(salon, T0 + 2));
  });

  it('refuses to resume a finished salon', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    expectRefusal(salon, 'all_rounds_done', () => resume(salon, T0 + 999_000));
  });

  it('close: closed, nothing scheduled, dated, and an archive post owed', () => {
    const salon = newSalon();
    playTurns(salon, 1);
    close(salon, T0 + 50_000);
    expect(salon.status).toBe('closed');
    expect(salon.nextTurnAt).toBeUndefined();
    expect(salon.closedAt).toBe(iso(T0 + 50_000));
    expect(salon.finishedAt).toBe(iso(T0 + 50_000));
    expect(salon.outbox.at(-1)).toEqual({ key: 'thread-1:archive', kind: 'archive', messageIds: [] });
    expect(isActive(salon)).toBe(false);
  });

  it('close keeps the time a finished salon finished', () => {
    const salon = newSalon({ rounds: 1 });
    const end = playTurns(salon, 2);
    close(salon, end + 3_600_000);
    expect(salon.finishedAt).toBe(iso(end));
    expect(salon.closedAt).toBe(iso(end + 3_600_000));
  });

  it('close works on a paused salon', () => {
    const salon = newSalon();
    pause(salon, T0 + 1);
    close(salon, T0 + 2);
    expect(salon.status).toBe('closed');
  });

  it('refuses everything once closed', () => {
    const salon = newSalon();
    close(salon, T0 + 1);
    expectRefusal(salon, 'closed', () => pause(salon, T0 + 2));
    expectRefusal(salon, 'closed', () => resume(salon, T0 + 2));
    expectRefusal(salon, 'closed', () => close(salon, T0 + 2));
    expectRefusal(salon, 'closed', () => addInterjection(salon, { id: 'x', author: { id: 'u', name: 'U' }, text: 'hi' }, T0 + 2));
    expect(salon.outbox.filter((p) => p.kind === 'archive')).toHaveLength(1);
  });

  it('isLive stays true for a closed salon until its outbox is empty', () => {
    const salon = newSalon();
    close(salon, T0 + 1);
    expect(isLive(salon)).toBe(true);
    for (const post of [...salon.outbox]) markDelivered(salon, post.key);
    expect(salon.outbox).toEqual([]);
    expect(isLive(salon)).toBe(false);
  });
});

describe('recordFailure', () => {
  it('a transient failure retries with the backoff for each attempt, then pauses with one notice', () => {
    const salon = newSalon();
    const fail = (now: number) => recordFailure(salon, { seat: 0, reason: 'HTTP 503 from the endpoint', permanent: false }, now, policy);

    expect(fail(T0 + 10_000)).toBe('retry');
    expect(salon.status).toBe('running');
    expect(salon.nextTurnAt).toBe(T0 + 10_000 + 30_000);
    // The retry state is the record's, with the attempts allowed, so /salon status can say "try 2 of 3" on any process.
    expect(salon.failure).toEqual({
      seat: 0,
      name: 'Claude Opus 4.5',
      reason: 'HTTP 503 from the endpoint',
      at: iso(T0 + 10_000),
      attempts: 1,
      maxAttempts: 3,
    });
    expect(notices(salon, 'model_failed')).toHaveLength(0);

    expect(fail(T0 + 50_000)).toBe('retry');
    expect(salon.nextTurnAt).toBe(T0 + 50_000 + 120_000);
    expect(salon.failure?.attempts).toBe(2);
    expect(notices(salon, 'model_failed')).toHaveLength(0);

    expect(fail(T0 + 200_000)).toBe('paused');
    expect(salon.status).toBe('paused');
    expect(salon.nextTurnAt).toBeUndefined();
    expect(salon.failure?.attempts).toBe(3);
    expect(pauseText(salon.pausedReason!)).toBe('Claude Opus 4.5 failed: HTTP 503 from the endpoint');
    const failure = notices(salon, 'model_failed');
    expect(failure).toHaveLength(1);
    expect(shown(failure[0]!)).toContain('Claude Opus 4.5');
    expect(shown(failure[0]!)).toContain('HTTP 503 from the endpoint');
    expect(shown(failure[0]!)).toContain('/salon resume');
    expect(shown(failure[0]!)).toContain('Claude Opus 4.5 could not take its turn after 3 tries: HTTP 503 from the endpoint.');
  });

  it('a permanent failure pauses at once, naming the model and the reason', () => {
    const salon = newSalon();
    playTurns(salon, 1);
    const outcome = recordFailure(salon, { seat: 1, reason: 'the endpoint does not know the model z-ai/glm-4.7', permanent: true }, T0 + 60_000, policy);
    expect(outcome).toBe('paused');
    expect(salon.status).toBe('paused');
    expect(salon.nextTurnAt).toBeUndefined();
    expect(salon.failure).toMatchObject({ seat: 1, name: 'GLM 4.7', attempts: 1 });
    const failure = notices(salon, 'model_failed');
    expect(failure).toHaveLength(1);
    expect(shown(failure[0]!)).toContain('GLM 4.7');
    expect(shown(failure[0]!)).toContain('the endpoint does not know the model z-ai/glm-4.7');
  });

  it('maxAttempts 1 pauses on the first transient failure', () => {
    const salon = newSalon();
    expect(recordFailure(salon, { seat: 0, reason: 'timeout', permanent: false }, T0, { maxAttempts: 1, backoffMs: () => 1000 })).toBe('paused');
    expect(notices(salon, 'model_failed')).toHaveLength(1);
  });

  it('counts attempts per seat: a failure of the other seat starts over', () => {
    const salon = newSalon();
    recordFailure(salon, { seat: 0, reason: 'timeout', permanent: false }, T0 + 1, policy);
    recordFailure(salon, { seat: 0, reason: 'timeout', permanent: false }, T0 + 2, policy);
    commitTurn(salon, generated(salon), T0 + 3);
    expect(recordFailure(salon, { seat: 1, reason: 'timeout', permanent: false }, T0 + 4, policy)).toBe('retry');
    expect(salon.failure?.attempts).toBe(1);
    expect(salon.nextTurnAt).toBe(T0 + 4 + 30_000);
  });

  it('resume clears the failure, so the count starts again', () => {
    const salon = newSalon();
    recordFailure(salon, { seat: 0, reason: 'bad key', permanent: true }, T0 + 1, policy);
    resume(salon, T0 + 10);
    expect(salon.failure).toBeUndefined();
    expect(salon.status).toBe('running');
    expect(recordFailure(salon, { seat: 0, reason: 'timeout', permanent: false }, T0 + 20, policy)).toBe('retry');
    expect(salon.failure?.attempts).toBe(1);
  });

  it('notices of separate pauses at the same turn have distinct keys (delivery is idempotent per key)', () => {
    const salon = newSalon();
    recordFailure(salon, { seat: 0, reason: 'invalid API key', permanent: true }, T0 + 1, policy);
    resume(salon, T0 + 10);
    recordFailure(salon, { seat: 0, reason: 'invalid API key', permanent: true }, T0 + 20, policy);
    const keys = notices(salon, 'model_failed').map((p) => p.key);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
    // delivering the first must not drop the second
    markDelivered(salon, keys[0]!);
    expect(notices(salon, 'model_failed')).toHaveLength(1);
  });
});

describe('pauseUndeliverable', () => {
  it('lets a finished salon whose last posts were refused be resumed, to try them again', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    expect(salon.status).toBe('finished');
    pauseUndeliverable(salon, 'Missing Permissions', T0 + 100_000);
    expect(pauseText(salon.pausedReason!)).toBe('Missing Permissions');
    resume(salon, T0 + 200_000);
    expect(salon.status).toBe('finished');
    expect(salon.pausedReason).toBeUndefined();
    expect(salon.outbox.length).toBeGreaterThan(0);
    expect(refusalWords(() => resume(salon, T0 + 300_000))).toMatch(/finished all its rounds/);
  });

  it('pauses a running salon with the reason', () => {
    const salon = newSalon();
    pauseUndeliverable(salon, 'the thread was deleted', T0 + 5);
    expect(salon.status).toBe('paused');
    expect(salon.nextTurnAt).toBeUndefined();
    expect(pauseText(salon.pausedReason!)).toBe('the thread was deleted');
  });

  it('leaves a finished salon finished', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    pauseUndeliverable(salon, 'missing permission', T0 + 999_000);
    expect(salon.status).toBe('finished');
  });
});

describe('outbox delivery', () => {
  it('recordPostedPart stores each part id at its position', () => {
    const salon = newSalon();
    commitTurn(salon, generated(salon), T0 + 1000);
    const key = turnKey(salon.id, 0);
    recordPostedPart(salon, key, 0, '111');
    recordPostedPart(salon, key, 1, '222');
    expect(salon.outbox.find((p) => p.key === key)?.messageIds).toEqual(['111', '222']);
    // recording a part again (a resumed delivery) overwrites, never appends
    recordPostedPart(salon, key, 1, '333');
    expect(salon.outbox.find((p) => p.key === key)?.messageIds).toEqual(['111', '333']);
  });

  it('recordPostedPart for an unknown key changes nothing', () => {
    const salon = newSalon();
    const before = snapshot(salon);
    recordPostedPart(salon, 'thread-1:turn:9', 0, '1');
    expect(salon).toEqual(before);
  });

  it('markDelivered copies a turn post’s message ids onto the turn and removes the post', () => {
    const salon = newSalon();
    commitTurn(salon, generated(salon), T0 + 1000);
    const key = turnKey(salon.id, 0);
    recordPostedPart(salon, key, 0, '900');
    recordPostedPart(salon, key, 1, '901');
    markDelivered(salon, key);
    expect(salon.turns[0]?.messageIds).toEqual(['900', '901']);
    expect(salon.outbox.map((p) => p.key)).toEqual(['thread-1:header']);
  });

  it('markDelivered removes other posts without touching the turns', () => {
    const salon = newSalon();
    commitTurn(salon, generated(salon), T0 + 1000);
    markDelivered(salon, 'thread-1:header');
    expect(salon.outbox.map((p) => p.kind)).toEqual(['turn']);
    expect(salon.turns[0]?.messageIds).toBeUndefined();
    // an unknown key is a no-op
    const before = snapshot(salon);
    markDelivered(salon, 'thread-1:nothing');
    expect(salon).toEqual(before);
  });
});

describe('recordDraft', () => {
  const turnPost = (salon: SalonRecord, index: number) =>
    salon.outbox.find((p): p is Extract<Post, { kind: 'turn' }> => p.kind === 'turn' && p.turnIndex === index);

  it('keeps the messages of the turn being streamed, and hands them to its post when it is committed', () => {
    const salon = newSalon();
    recordDraft(salon, 0, ['500']);
    recordDraft(salon, 0, ['500', '501']);
    expect(salon.draft).toEqual({ turnIndex: 0, messageIds: ['500', '501'] });
    commitTurn(salon, generated(salon), T0 + 1000);
    expect(turnPost(salon, 0)?.draftIds).toEqual(['500', '501']);
    expect(salon.draft).toBeUndefined();
  });

  it('adds a draft message whose id arrives after the commit to the owed post, once', () => {
    const salon = newSalon();
    recordDraft(salon, 0, ['500']);
    commitTurn(salon, generated(salon), T0 + 1000);
    recordDraft(salon, 0, ['500', '501']);
    recordDraft(salon, 0, ['500', '501']);
    expect(turnPost(salon, 0)?.draftIds).toEqual(['500', '501']);
    expect(salon.outbox.some((p) => p.kind === 'retract')).toBe(false);
  });

  it('retracts a late draft message of a turn already delivered, or of a closed salon', () => {
    const delivered = newSalon();
    commitTurn(delivered, generated(delivered), T0 + 1000);
    recordPostedPart(delivered, turnKey(delivered.id, 0), 0, '700');
    markDelivered(delivered, turnKey(delivered.id, 0));
    recordDraft(delivered, 0, ['700', '701']);
    expect(delivered.outbox.filter((p) => p.kind === 'retract').map((p) => (p as { draftIds: string[] }).draftIds)).toEqual([['701']]);

    const closed = newSalon();
    recordDraft(closed, 0, ['800']);
    close(closed, T0 + 1000);
    recordDraft(closed, 0, ['800', '801']);
    const retracts = closed.outbox.filter((p): p is Extract<Post, { kind: 'retract' }> => p.kind === 'retract');
    expect(retracts.map((p) => p.draftIds)).toEqual([['800'], ['801']]);
    expect(new Set(retracts.map((p) => p.key)).size).toBe(2);
  });
});
