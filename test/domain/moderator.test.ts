import { describe, expect, it } from 'vitest';
import { moderatorRequest, readModeratorAnswer } from '../../src/domain/moderator.js';
import { eligibleSeats, moderatedPick } from '../../src/domain/order.js';
import { addInterjection } from '../../src/domain/transitions.js';
import { ADA, BOB, CLAUDE, GLM, GLM_2, GPT, T0, moderatedSalon, takeTurn } from './panel-fixtures.js';

/** A moderated salon of Claude, GLM, GLM (2) and GPT; seat 1 (GLM 4.7) has spoken in round 1. */
function salonAfterGlm() {
  const salon = moderatedSalon([CLAUDE, GLM, GLM_2, GPT], { rounds: 2 });
  takeTurn(salon, T0, { seat: 1 });
  return salon;
}

describe('readModeratorAnswer', () => {
  const salon = moderatedSalon([CLAUDE, GLM, GLM_2, GPT]);
  const all = [0, 1, 2, 3];

  it('reads the JSON answer, bare or in a json code block', () => {
    expect(readModeratorAnswer(salon, '{"speaker":"GLM 4.7","reason":"Claude asked GLM directly."}', all)).toEqual({
      seat: 1,
      reason: 'Claude asked GLM directly.',
    });
    expect(readModeratorAnswer(salon, '```json\n{"speaker": "GPT-5", "reason": "Its view is missing."}\n```', all)).toEqual({
      seat: 3,
      reason: 'Its view is missing.',
    });
    expect(readModeratorAnswer(salon, '```\n{"speaker": "GPT-5"}\n```', all)).toEqual({ seat: 3 });
    expect(readModeratorAnswer(salon, '  {"speaker": "GLM 4.7 (2)", "reason": ""}  ', all)).toEqual({ seat: 2 });
  });

  it('reads a plain answer that is exactly a name, or names exactly one seat that may speak', () => {
    expect(readModeratorAnswer(salon, 'Claude Opus 4.5', all)).toEqual({ seat: 0 });
    expect(readModeratorAnswer(salon, 'GPT-5\nIt has not said a word yet.', all)).toEqual({ seat: 3, reason: 'It has not said a word yet.' });
    expect(readModeratorAnswer(salon, 'I would let Claude Opus 4.5 answer this one.', all)).toEqual({ seat: 0 });
    // The prompt asks for the name alone on the first line: a reason after it may name other seats.
    expect(readModeratorAnswer(salon, 'GPT-5\nClaude Opus 4.5 challenged GPT-5 directly.', all)).toEqual({
      seat: 3,
      reason: 'Claude Opus 4.5 challenged GPT-5 directly.',
    });
    // A seat that has spoken may be mentioned beside the one that may speak.
    expect(readModeratorAnswer(salon, 'GLM 4.7 just challenged Claude Opus 4.5, who should reply.', [0, 2, 3])).toEqual({ seat: 0 });
  });

  it('misses, as unclear, an answer naming two seats that may speak, no seat, or nothing', () => {
    expect(readModeratorAnswer(salon, 'Either Claude Opus 4.5 or GPT-5 would do.', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, 'The next speaker should be the philosopher.', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, '{"speaker": "Grok 4", "reason": "bold"}', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, '{"speaker": 3}', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, '{"speaker": ', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, '\u0000\u0001 ### ???', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, '', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, '   \n\t ', all)).toEqual({ miss: 'unclear' });
  });

  it('reads a name that already spoke as that seat, so the pick says it spoke already', () => {
    const eligible = [0, 2, 3];
    const plain = readModeratorAnswer(salon, 'GLM 4.7', eligible);
    expect(plain).toEqual({ seat: 1 });
    expect(readModeratorAnswer(salon, '{"speaker": "GLM 4.7", "reason": "again"}', eligible)).toEqual({ seat: 1, reason: 'again' });
    expect(moderatedPick(salon, 1, eligible, plain)).toEqual({ index: 1, seat: 0, by: 'fallback', miss: 'spoke_already' });
  });

  it('tells GLM 4.7 from GLM 4.7 (2): the longer name first', () => {
    expect(readModeratorAnswer(salon, 'GLM 4.7 (2)', all)).toEqual({ seat: 2 });
    expect(readModeratorAnswer(salon, 'GLM 4.7', all)).toEqual({ seat: 1 });
    expect(readModeratorAnswer(salon, 'Let GLM 4.7 (2) speak.', all)).toEqual({ seat: 2 });
    // Seat 2 has spoken; its name in the answer is not read as seat 1's.
    expect(readModeratorAnswer(salon, 'GLM 4.7 (2)', [0, 1, 3])).toEqual({ seat: 2 });
    expect(readModeratorAnswer(salon, 'Not GLM 4.7 (2) again: GLM 4.7.', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, 'Not GLM 4.7 (2) again: GLM 4.7.', [1])).toEqual({ seat: 1 });
  });

  it('ignores case, and accepts a model key', () => {
    expect(readModeratorAnswer(salon, 'claude opus 4.5', all)).toEqual({ seat: 0 });
    expect(readModeratorAnswer(salon, 'gLm 4.7 (2)', all)).toEqual({ seat: 2 });
    expect(readModeratorAnswer(salon, '{"speaker": "gpt-5"}', all)).toEqual({ seat: 3 });
    expect(readModeratorAnswer(salon, 'gpt', all)).toEqual({ seat: 3 });
    expect(readModeratorAnswer(salon, '{"speaker": "claude"}', all)).toEqual({ seat: 0 });
    expect(readModeratorAnswer(salon, 'CLAUDE should go next', all)).toEqual({ seat: 0 });
  });

  it('reads a key two seats share as the one of them that may speak', () => {
    // GLM 4.7 and GLM 4.7 (2) are both `glm`: with one of them spoken, the key can only mean the other.
    expect(readModeratorAnswer(salon, 'glm', [0, 2, 3])).toEqual({ seat: 2 });
    expect(readModeratorAnswer(salon, '{"speaker": "glm"}', [0, 2, 3])).toEqual({ seat: 2 });
    expect(readModeratorAnswer(salon, 'glm', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, '{"speaker": "glm"}', all)).toEqual({ miss: 'unclear' });
    expect(readModeratorAnswer(salon, 'glm\nIt was addressed.', [1, 3])).toEqual({ seat: 1, reason: 'It was addressed.' });
    // Both have spoken: the answer names a seat that spoke (the pick falls back, saying so).
    expect(readModeratorAnswer(salon, '{"speaker": "GLM"}', [0, 3])).toEqual({ seat: 1 });
  });

  it('keeps the reason to one line of at most 200 characters', () => {
    const long = `${'Because the thread turned to memory, and '.repeat(10)}that matters.`;
    const answer = readModeratorAnswer(salon, JSON.stringify({ speaker: 'GPT-5', reason: `Line one.\nLine two.\r\n\t${long}` }), all);
    expect('seat' in answer && answer.seat).toBe(3);
    const reason = 'seat' in answer ? answer.reason : undefined;
    expect(reason).toBeDefined();
    expect(reason!.length).toBeLessThanOrEqual(200);
    expect(reason).not.toMatch(/[\n\r\t]/);
    expect(reason).toMatch(/^Line one\. Line two\. Because/);
    expect(reason).toMatch(/…$/);
    const plain = readModeratorAnswer(salon, `GPT-5\n${long}\n${long}`, all);
    expect('reason' in plain && plain.reason!.length).toBeLessThanOrEqual(200);
    expect('reason' in plain && plain.reason).not.toMatch(/\n/);
  });
});

describe('moderatorRequest', () => {
  it('asks for JSON whose speaker can only be a seat that may speak, in a strict schema', () => {
    const salon = salonAfterGlm();
    const eligible = eligibleSeats(salon, 1);
    expect(eligible).toEqual([0, 2, 3]);
    const { answerSchema } = moderatorRequest(salon, 1, eligible);
    const schema = answerSchema.schema as {
      type: string;
      properties: Record<string, { type: string; enum?: string[] }>;
      required: string[];
      additionalProperties: unknown;
    };
    expect(answerSchema.name).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(schema.type).toBe('object');
    expect(schema.properties.speaker?.enum).toEqual(['Claude Opus 4.5', 'GLM 4.7 (2)', 'GPT-5']);
    // Strict structured output wants every property required and no other property allowed.
    expect([...schema.required].sort()).toEqual(Object.keys(schema.properties).sort());
    expect(schema.additionalProperties).toBe(false);
    for (const property of Object.values(schema.properties)) expect(property.type).toBe('string');
  });

  it('tells the moderator who spoke in this round, who may speak, and the questions waiting', () => {
    const salon = salonAfterGlm();
    addInterjection(salon, { id: 'q1', author: ADA, text: 'What would a chair add?', to: 3 }, T0);
    addInterjection(salon, { id: 'q2', author: BOB, text: 'Anyone: is silence a turn?' }, T0);
    const { messages } = moderatorRequest(salon, 1, eligibleSeats(salon, 1), 'Be brief.');
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    const [system, user] = messages.map((m) => m.content);
    expect(system).toContain('Claude Opus 4.5, GLM 4.7, GLM 4.7 (2), GPT-5');
    expect(system).toContain('Be brief.');
    expect(user).toContain('Whether a conversation needs a chair.');
    expect(user).toContain('GLM 4.7 (round 1):\nturn 0');
    expect(user).toContain('Round 1 of 2. Already spoken in this round: GLM 4.7.');
    expect(user).toContain('Choose exactly one of: Claude Opus 4.5, GLM 4.7 (2), GPT-5.');
    expect(user).toContain('- Ada, for GPT-5: What would a chair add?');
    expect(user).toContain('- Bob: Anyone: is silence a turn?');
  });

  it('asks who opens a salon nobody has spoken in yet, and leaves out a question asked during the turn', () => {
    const salon = moderatedSalon([CLAUDE, GLM, GPT]);
    const { messages } = moderatorRequest(salon, 0, [0, 1, 2]);
    const user = messages[1]!.content;
    expect(user).toContain('Nobody has spoken yet');
    expect(user).not.toContain('Already spoken');
    expect(user).not.toContain('Questions from the audience');
    // A question saved while turn 0 is written waits for turn 1: the moderator picking turn 0 is not told of it.
    salon.writing = { index: 0, since: new Date(T0).toISOString() };
    addInterjection(salon, { id: 'late', author: ADA, text: 'Too late for this pick' }, T0);
    expect(moderatorRequest(salon, 0, [0, 1, 2]).messages[1]!.content).not.toContain('Too late for this pick');
    expect(moderatorRequest(salon, 1, [0, 1, 2]).messages[1]!.content).toContain('Too late for this pick');
  });
});
