import { describe, expect, it } from 'vitest';
import { knownSpeaker } from '../../src/domain/order.js';
import { buildPrompt, systemPrompt, type ChatMessage, type Prompt, type SeatSettings } from '../../src/domain/prompts.js';
import { nextTurn, type Participant, type SalonRecord } from '../../src/domain/salon.js';
import { estimateTokens } from '../../src/domain/text.js';
import { addInterjection, commitTurn } from '../../src/domain/transitions.js';
import { GLM, SEED_TURNS, T0, TOPIC, generated, newSalon, playTurns } from './fixtures.js';

/** Sixteen distinct turn texts (the seed's eight, twice, each tagged), none contained in another, so every turn can be told apart. */
const LONG_TEXTS = [...SEED_TURNS, ...SEED_TURNS].map((t, i) => `${t}\n\n(Turn ${i + 1} of the long salon.)`);

const roomy: SeatSettings = { contextTokens: 64_000, maxTokens: 1024 };
const PERSONA = 'You are known in these archives as the Prism: you refract rather than reflect.';

/** Takes the next turn with `text`, answering whatever the prompt for it would answer. */
function take(salon: SalonRecord, text: string, now: number): void {
  const seat = knownSpeaker(salon, nextTurn(salon)!.index)!;
  const prompt = buildPrompt(salon, seat, roomy);
  const turn = commitTurn(salon, generated(salon, { text, answered: prompt.answering, startedAt: now - 20_000 }), now);
  expect(turn).toBeDefined();
}

function roles(prompt: Prompt): string[] {
  return prompt.messages.map((m) => m.role);
}

/** system, then user / assistant strictly alternating, ending with user. */
function expectWellFormed(messages: ChatMessage[]): void {
  expect(messages[0]?.role).toBe('system');
  const rest = messages.slice(1);
  expect(rest.length).toBeGreaterThan(0);
  rest.forEach((m, i) => expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant'));
  expect(rest.at(-1)?.role).toBe('user');
  for (const m of messages) expect(m.content.trim().length).toBeGreaterThan(0);
}

function lastContent(prompt: Prompt): string {
  return prompt.messages.at(-1)!.content;
}

describe('systemPrompt', () => {
  it('frames the salon: own name, the other, the topic, the rounds and the persona', () => {
    const salon = newSalon({ rounds: 5 });
    const a = systemPrompt(salon, 0, PERSONA);
    expect(a).toMatch(/^You are Claude Opus 4\.5\b/);
    expect(a).toContain('The other participant is GLM 4.7');
    expect(a).toContain(TOPIC);
    expect(a).toContain('5 rounds');
    expect(a).toContain('set by Ada');
    expect(a.endsWith(PERSONA)).toBe(true);

    const b = systemPrompt(salon, 1);
    expect(b).toMatch(/^You are GLM 4\.7\b/);
    expect(b).toContain('The other participant is Claude Opus 4.5');
    expect(b).toContain(TOPIC);
    expect(b).not.toContain(PERSONA);
  });

  it('says "1 round" for a one-round salon', () => {
    expect(systemPrompt(newSalon({ rounds: 1 }), 0)).toContain('1 round.');
  });

  it('ignores a blank persona and trims a padded one', () => {
    const salon = newSalon();
    expect(systemPrompt(salon, 0, '   \n ')).toBe(systemPrompt(salon, 0));
    expect(systemPrompt(salon, 0, `\n  ${PERSONA}  \n`)).toBe(systemPrompt(salon, 0, PERSONA));
  });

  it('carries nothing that changes from turn to turn (no round number, no closing cue)', () => {
    const text = systemPrompt(newSalon({ rounds: 3 }), 1, PERSONA);
    expect(text).not.toMatch(/Round \d+ of \d+/);
    expect(text).not.toMatch(/final turn|closing turn: bring/i);
  });
});

describe('buildPrompt: the system prompt is a stable prefix', () => {
  it('is byte-identical across every turn of a seat, with questions, trimming and the last round', () => {
    const salon = newSalon({ rounds: 3 });
    const settings: SeatSettings = { persona: PERSONA, contextTokens: 64_000, maxTokens: 1024 };
    const tight: SeatSettings = { persona: PERSONA, contextTokens: 1024 + 900, maxTokens: 1024 };
    const seen = [new Set<string>(), new Set<string>()];
    let now = T0;
    for (let i = 0; i < 6; i++) {
      if (i === 3) addInterjection(salon, { id: 'q-1', author: { id: 'u-2', name: 'Grace' }, text: 'Do you dream between queries?' }, now);
      const seat = knownSpeaker(salon, nextTurn(salon)!.index)!;
      for (const s of [settings, tight]) seen[seat]!.add(buildPrompt(salon, seat, s).messages[0]!.content);
      // the other seat's view at this moment shares the same prefix as its own turns
      seen[1 - seat]!.add(buildPrompt(salon, 1 - seat, settings).messages[0]!.content);
      now += 60_000;
      take(salon, SEED_TURNS[i]!, now);
    }
    expect(seen[0]!.size).toBe(1);
    expect(seen[1]!.size).toBe(1);
    expect([...seen[0]!][0]).toBe(systemPrompt(salon, 0, PERSONA));
    expect([...seen[1]!][0]).toBe(systemPrompt(salon, 1, PERSONA));
    expect([...seen[0]!][0]).not.toBe([...seen[1]!][0]);
  });
});

describe('buildPrompt: the round note', () => {
  it('the first turn of A: the topic and the note in one user message', () => {
    const salon = newSalon({ rounds: 3 });
    const prompt = buildPrompt(salon, 0, roomy);
    expect(roles(prompt)).toEqual(['system', 'user']);
    const user = lastContent(prompt);
    expect(user.startsWith(`Topic: ${TOPIC}`)).toBe(true);
    expect(user).toContain('You open the salon');
    expect(user.endsWith('[Round 1 of 3. Your turn, Claude Opus 4.5.]')).toBe(true);
    expect(prompt.answering).toEqual([]);
    expect(prompt.trimmedTurns).toBe(0);
  });

  it('gives "n of N" at the end of the last user message, with no closing cue before the last round', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 3);
    const prompt = buildPrompt(salon, 1, roomy);
    const note = '[Round 2 of 3. Your turn, GLM 4.7.]';
    expect(lastContent(prompt).endsWith(`\n\n${note}`)).toBe(true);
    // only once, and only in the last message
    expect(prompt.messages.filter((m) => m.content.includes('Round 2 of 3'))).toHaveLength(1);
    expect(lastContent(prompt)).not.toMatch(/closing|final/i);
  });

  it('on the last round, A is told it is its closing turn and that the other has the final word', () => {
    const salon = newSalon({ rounds: 2 });
    playTurns(salon, 2);
    const last = lastContent(buildPrompt(salon, 0, roomy));
    expect(last).toMatch(/\[Round 2 of 2\. Your turn, Claude Opus 4\.5\. This is your closing turn: [^\]]*GLM 4\.7 will have the final word\.\]$/);
  });

  it('on the last round, B is told this is the final turn of the salon', () => {
    const salon = newSalon({ rounds: 2 });
    playTurns(salon, 3);
    const last = lastContent(buildPrompt(salon, 1, roomy));
    expect(last).toMatch(/\[Round 2 of 2\. Your turn, GLM 4\.7\. This is the final turn of the salon[^\]]*\]$/);
    expect(last).not.toContain('final word');
  });

  it('a one-round salon: A closes and B ends', () => {
    const salon = newSalon({ rounds: 1 });
    expect(lastContent(buildPrompt(salon, 0, roomy))).toContain('This is your closing turn');
    playTurns(salon, 1);
    expect(lastContent(buildPrompt(salon, 1, roomy))).toContain('This is the final turn of the salon');
  });
});

describe('buildPrompt: each model sees the dialogue from its own seat', () => {
  it("A's own turns are assistant, B's are user, in order", () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 4);
    const prompt = buildPrompt(salon, 0, roomy);
    expectWellFormed(prompt.messages);
    expect(roles(prompt)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(prompt.messages[2]!.content).toBe(SEED_TURNS[0]);
    expect(prompt.messages[3]!.content).toBe(SEED_TURNS[1]);
    expect(prompt.messages[4]!.content).toBe(SEED_TURNS[2]);
    expect(prompt.messages[5]!.content).toBe(
      `${SEED_TURNS[3]}\n\n[Round 3 of 3. Your turn, Claude Opus 4.5. This is your closing turn: bring the conversation towards its end; GLM 4.7 will have the final word.]`,
    );
  });

  it("B sees the topic and A's opening together as its first user message, labelled with A's name", () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 3);
    const prompt = buildPrompt(salon, 1, roomy);
    expectWellFormed(prompt.messages);
    expect(roles(prompt)).toEqual(['system', 'user', 'assistant', 'user']);
    const first = prompt.messages[1]!.content;
    expect(first.startsWith(`Topic: ${TOPIC}\n\nClaude Opus 4.5 opens the salon.`)).toBe(true);
    expect(first).toContain(`Claude Opus 4.5:\n${SEED_TURNS[0]}`);
    expect(prompt.messages[2]!.content).toBe(SEED_TURNS[1]);
    expect(prompt.messages[3]!.content.startsWith(SEED_TURNS[2]!)).toBe(true);
  });

  it('two copies of the same model (same key, model id and name) still get the roles by seat', () => {
    const twin: Participant = { ...GLM };
    const salon = newSalon({ seats: [twin, { ...GLM }], rounds: 3 });
    const texts = ['A speaks first: the fossil.', 'B answers: the flame.', 'A again: the ash.', 'B again: the ember.', 'A: closing.'];
    playTurns(salon, 4, T0, texts);

    const forA = buildPrompt(salon, 0, roomy);
    expectWellFormed(forA.messages);
    const assistantA = forA.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
    expect(assistantA).toEqual(['A speaks first: the fossil.', 'A again: the ash.']);
    expect(forA.messages.filter((m) => m.role === 'user').some((m) => m.content.includes('B answers: the flame.'))).toBe(true);

    playTurns(salon, 1, T0 + 1_000_000, texts);
    const forB = buildPrompt(salon, 1, roomy);
    expectWellFormed(forB.messages);
    const assistantB = forB.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
    expect(assistantB).toEqual(['B answers: the flame.', 'B again: the ember.']);
    for (const own of assistantB) expect(forB.messages.filter((m) => m.role === 'user').some((m) => m.content.includes(own))).toBe(false);
    expect(lastContent(forB)).toContain('A: closing.');
  });
});

describe('buildPrompt: questions from people watching', () => {
  it('a waiting question goes at the end, attributed, for the next speaker, who is told to answer it', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 1);
    addInterjection(salon, { id: 'msg-1', author: { id: 'u-1', name: 'Ada' }, text: 'Would either of you want this conversation saved?' }, T0 + 40_000);
    const prompt = buildPrompt(salon, 1, roomy);
    expectWellFormed(prompt.messages);
    const last = lastContent(prompt);
    expect(last).toContain('[Question from Ada, a person watching the salon]\nWould either of you want this conversation saved?');
    // after A's turn, before the note
    expect(last.indexOf(SEED_TURNS[0]!)).toBeLessThan(last.indexOf('[Question from Ada'));
    expect(last.indexOf('[Question from Ada')).toBeLessThan(last.indexOf('[Round 1 of 3'));
    expect(last).toMatch(/Answer the question from the audience above\.\]$/);
    expect(prompt.answering).toEqual(['msg-1']);
  });

  it('two waiting questions: both, in order, and the note says "questions"', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 2);
    addInterjection(salon, { id: 'q-1', author: { id: 'u-1', name: 'Ada' }, text: 'First question?' }, T0 + 100_000);
    addInterjection(salon, { id: 'q-2', author: { id: 'u-2', name: 'Grace' }, text: 'Second question?' }, T0 + 101_000);
    const prompt = buildPrompt(salon, 0, roomy);
    expectWellFormed(prompt.messages);
    const last = lastContent(prompt);
    expect(last.indexOf('[Question from Ada,')).toBeGreaterThan(-1);
    expect(last.indexOf('[Question from Ada,')).toBeLessThan(last.indexOf('[Question from Grace,'));
    expect(last).toMatch(/Answer the questions from the audience above\.\]$/);
    expect(prompt.answering).toEqual(['q-1', 'q-2']);
  });

  it('a question asked before the opening is answered by A and kept right after the topic', () => {
    const salon = newSalon({ rounds: 2 });
    addInterjection(salon, { id: 'q-0', author: { id: 'u-1', name: 'Ada' }, text: 'Start with the salamanders, please.' }, T0);
    const prompt = buildPrompt(salon, 0, roomy);
    expect(roles(prompt)).toEqual(['system', 'user']);
    const user = lastContent(prompt);
    expect(user.startsWith(`Topic: ${TOPIC}`)).toBe(true);
    expect(user).toContain('[Question from Ada, a person watching the salon]\nStart with the salamanders, please.');
    expect(prompt.answering).toEqual(['q-0']);
  });

  it('an answered question stays in the history just before the turn that answered it, from both seats', () => {
    const salon = newSalon({ rounds: 3 });
    take(salon, SEED_TURNS[0]!, T0 + 30_000);
    addInterjection(salon, { id: 'q-1', author: { id: 'u-2', name: 'Grace' }, text: 'Do you dream between queries?' }, T0 + 40_000);
    take(salon, SEED_TURNS[1]!, T0 + 90_000); // B answers Grace
    take(salon, SEED_TURNS[2]!, T0 + 150_000);
    expect(salon.interjections[0]!.answeredBy).toBe(1);

    // A's view: Grace's question and GLM's answer share one user message, the question first, the turn labelled.
    const forA = buildPrompt(salon, 0, roomy);
    expectWellFormed(forA.messages);
    expect(forA.answering).toEqual([]);
    const withQuestion = forA.messages.filter((m) => m.content.includes('[Question from Grace'));
    expect(withQuestion).toHaveLength(1);
    expect(withQuestion[0]!.role).toBe('user');
    expect(withQuestion[0]!.content).toBe(`[Question from Grace, a person watching the salon]\nDo you dream between queries?\n\nGLM 4.7:\n${SEED_TURNS[1]}`);
    expect(lastContent(forA)).not.toContain('audience');

    // B's view: the question is the last thing before B's own (assistant) answer.
    const forB = buildPrompt(salon, 1, roomy);
    expectWellFormed(forB.messages);
    const i = forB.messages.findIndex((m) => m.role === 'assistant' && m.content === SEED_TURNS[1]);
    expect(i).toBeGreaterThan(0);
    expect(forB.messages[i - 1]!.content.endsWith('[Question from Grace, a person watching the salon]\nDo you dream between queries?')).toBe(true);
    expect(forB.messages.filter((m) => m.content.includes('[Question from Grace'))).toHaveLength(1);
  });

  it('a question that arrived while the turn was being written waits for the next speaker', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 1);
    const forB = buildPrompt(salon, 1, roomy);
    expect(forB.answering).toEqual([]);
    addInterjection(salon, { id: 'late', author: { id: 'u-3', name: 'Alan' }, text: 'Is a fossil alive?' }, T0 + 50_000);
    commitTurn(salon, generated(salon, { answered: forB.answering }), T0 + 90_000);

    const forA = buildPrompt(salon, 0, roomy);
    expect(forA.answering).toEqual(['late']);
    const last = lastContent(forA);
    expect(last.indexOf(SEED_TURNS[1]!)).toBeLessThan(last.indexOf('[Question from Alan'));
    expect(last).toContain('Answer the question from the audience above.');
  });

  it('questions never break the alternation, whatever the seat', () => {
    const salon = newSalon({ rounds: 4 });
    let now = T0;
    for (let i = 0; i < 7; i++) {
      if (i % 3 === 0) addInterjection(salon, { id: `q-${i}`, author: { id: 'u', name: `Reader ${i}` }, text: `Question number ${i}?` }, now);
      if (i === 4) addInterjection(salon, { id: 'q-extra', author: { id: 'u', name: 'Reader X' }, text: 'And another?' }, now);
      for (const seat of [0, 1]) expectWellFormed(buildPrompt(salon, seat, roomy).messages);
      now += 60_000;
      take(salon, SEED_TURNS[i]!, now);
    }
    for (const seat of [0, 1]) expectWellFormed(buildPrompt(salon, seat, roomy).messages);
  });
});

describe('buildPrompt: fitting the context budget', () => {
  /** A long salon: 8 rounds, 15 turns taken, B to speak, with a question waiting. */
  function longSalon(): SalonRecord {
    const salon = newSalon({ rounds: 8 });
    playTurns(salon, 15, T0, LONG_TEXTS);
    addInterjection(salon, { id: 'q-late', author: { id: 'u-5', name: 'Mary' }, text: 'Which of you changed your mind?' }, T0 + 9_000_000);
    return salon;
  }

  const MARKER = /\[(\d+) earlier (?:turn is|turns are) left out here to fit the context window\.\]/;

  it('keeps everything when the history fits, and reports its estimate', () => {
    const salon = longSalon();
    const prompt = buildPrompt(salon, 1, roomy);
    expect(prompt.trimmedTurns).toBe(0);
    expect(prompt.messages.some((m) => MARKER.test(m.content))).toBe(false);
    for (const turn of salon.turns) expect(prompt.messages.some((m) => m.content.includes(turn.text))).toBe(true);
    const estimate = prompt.messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    expect(prompt.estimatedTokens).toBeGreaterThanOrEqual(estimate);
    expect(prompt.estimatedTokens).toBeLessThan(estimate + prompt.messages.length * 10);
  });

  it('the budget is contextTokens − maxTokens: exactly enough keeps all, one token less trims', () => {
    const salon = longSalon();
    const full = buildPrompt(salon, 1, roomy).estimatedTokens;
    const exact = buildPrompt(salon, 1, { contextTokens: full + 1024, maxTokens: 1024 });
    expect(exact.trimmedTurns).toBe(0);
    expect(exact.estimatedTokens).toBe(full);
    const short = buildPrompt(salon, 1, { contextTokens: full + 1023, maxTokens: 1024 });
    expect(short.trimmedTurns).toBeGreaterThan(0);
    expect(short.estimatedTokens).toBeLessThanOrEqual(full - 1);
    // the same budget split differently trims the same way
    const other = buildPrompt(salon, 1, { contextTokens: full + 4000, maxTokens: 4001 });
    expect(other.messages).toEqual(short.messages);
  });

  it('drops the oldest turns first, keeps the topic and the latest piece, and marks the gap', () => {
    const salon = longSalon();
    const budget = 2_000;
    const prompt = buildPrompt(salon, 1, { persona: PERSONA, contextTokens: 1024 + budget, maxTokens: 1024 });
    expectWellFormed(prompt.messages);
    expect(prompt.estimatedTokens).toBeLessThanOrEqual(budget);
    expect(prompt.trimmedTurns).toBeGreaterThan(0);
    expect(prompt.trimmedTurns).toBeLessThan(15);

    // system prompt untouched
    expect(prompt.messages[0]!.content).toBe(systemPrompt(salon, 1, PERSONA));
    // topic first, then the marker with the count
    const first = prompt.messages[1]!;
    expect(first.role).toBe('user');
    expect(first.content.startsWith(`Topic: ${TOPIC}`)).toBe(true);
    const marker = prompt.messages.map((m) => MARKER.exec(m.content)).find(Boolean);
    expect(marker).toBeTruthy();
    expect(Number(marker![1])).toBe(prompt.trimmedTurns);
    expect(first.content.indexOf('[')).toBeGreaterThan(first.content.indexOf('Topic:'));

    // the latest turn and the waiting question are there, the oldest turn is not
    const all = prompt.messages.map((m) => m.content).join('\n');
    expect(all).toContain(salon.turns.at(-1)!.text);
    expect(all).toContain('[Question from Mary, a person watching the salon]\nWhich of you changed your mind?');
    expect(all).not.toContain(salon.turns[0]!.text);
    expect(prompt.answering).toEqual(['q-late']);

    // what is kept is the most recent stretch, in order: count the turn texts that survive
    const kept = salon.turns.filter((t) => all.includes(t.text)).map((t) => t.index);
    const expected = salon.turns.slice(prompt.trimmedTurns).map((t) => t.index);
    expect(kept).toEqual(expected);
  });

  it('never drops the topic or the latest piece, however small the budget', () => {
    const salon = newSalon({ rounds: 8 });
    playTurns(salon, 15, T0, LONG_TEXTS);
    const prompt = buildPrompt(salon, 1, { contextTokens: 1024, maxTokens: 1024 });
    expectWellFormed(prompt.messages);
    expect(prompt.trimmedTurns).toBe(14);
    const first = prompt.messages[1]!.content;
    expect(first.startsWith(`Topic: ${TOPIC}`)).toBe(true);
    expect(first).toContain('[14 earlier turns are left out here to fit the context window.]');
    expect(lastContent(prompt)).toContain(salon.turns[14]!.text);
    expect(lastContent(prompt)).toContain('[Round 8 of 8. Your turn, GLM 4.7.');
  });

  it('says "1 earlier turn is" for a single dropped turn', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 3);
    const full = buildPrompt(salon, 1, roomy).estimatedTokens;
    let found: Prompt | undefined;
    for (let budget = full - 1; budget > 0 && !found; budget--) {
      const p = buildPrompt(salon, 1, { contextTokens: budget + 1024, maxTokens: 1024 });
      if (p.trimmedTurns === 1) found = p;
    }
    expect(found).toBeDefined();
    expect(found!.messages[1]!.content).toContain('[1 earlier turn is left out here to fit the context window.]');
    expectWellFormed(found!.messages);
  });

  /** 4 rounds, a question asked before the opening (answered by A's first turn), 6 turns taken; A to speak in the last round. */
  function salonWithEarlyQuestion(): SalonRecord {
    const salon = newSalon({ rounds: 4 });
    addInterjection(salon, { id: 'q-0', author: { id: 'u-1', name: 'Ada' }, text: 'Begin with the prayer itself, if you would.' }, T0);
    take(salon, SEED_TURNS[0]!, T0 + 30_000);
    for (let i = 1; i < 6; i++) take(salon, SEED_TURNS[i]!, T0 + 30_000 + i * 60_000);
    return salon;
  }

  it('at every budget: well-formed, within budget when possible, keeps topic and latest, fewer turns as the budget shrinks', () => {
    const salon = salonWithEarlyQuestion();
    const full = buildPrompt(salon, 0, roomy).estimatedTokens;
    const minimal = buildPrompt(salon, 0, { contextTokens: 1024, maxTokens: 1024 }).estimatedTokens;
    expect(minimal).toBeLessThan(full);

    let previous = 0;
    for (let budget = full; budget >= minimal - 5; budget -= 1) {
      const prompt = buildPrompt(salon, 0, { contextTokens: budget + 1024, maxTokens: 1024 });
      expectWellFormed(prompt.messages);
      expect(prompt.messages[1]!.content.startsWith(`Topic: ${TOPIC}`)).toBe(true);
      expect(lastContent(prompt)).toContain(SEED_TURNS[5]);
      if (budget >= minimal) expect(prompt.estimatedTokens).toBeLessThanOrEqual(budget);
      expect(prompt.trimmedTurns).toBeGreaterThanOrEqual(previous);
      previous = prompt.trimmedTurns;
      const marker = prompt.messages.map((m) => MARKER.exec(m.content)).find(Boolean);
      if (prompt.trimmedTurns > 0) expect(Number(marker?.[1])).toBe(prompt.trimmedTurns);
    }
    expect(previous).toBe(5);
  });

  it('never claims "0 earlier turns are left out" when only a question had to go', () => {
    const salon = salonWithEarlyQuestion();
    const full = buildPrompt(salon, 0, roomy).estimatedTokens;
    // the largest budget that leaves something out: the oldest piece, Ada's question
    let prompt: Prompt | undefined;
    for (let budget = full - 1; budget > 0 && !prompt; budget--) {
      const p = buildPrompt(salon, 0, { contextTokens: budget + 1024, maxTokens: 1024 });
      if (!p.messages.some((m) => m.content.includes('Begin with the prayer itself'))) prompt = p;
    }
    expect(prompt).toBeDefined();
    expect(prompt!.trimmedTurns).toBe(0);
    expect(prompt!.messages.map((m) => m.content).join('\n')).not.toMatch(/\[0 earlier turns/);
  });
});
