/**
 * The moderator of a panel in moderated order: what it is asked before a turn, and how its answer is read.
 *
 * It is asked one thing, who speaks next, among the seats that have not spoken in the round, with the recent turns
 * and the questions waiting. Where the endpoint has structured output the answer is JSON whose `speaker` can only be
 * one of those seats' names; a plain answer counts when it names exactly one of them. Anything else is a miss, and
 * order.ts falls back to the seat that spoke least recently.
 */
import { pendingInterjections, questionsByTurn, roundOf, seatAt, type SalonRecord, type Seat } from './salon.js';
import type { ModeratorAnswer } from './order.js';
import type { ChatMessage } from './prompts.js';
import { cutOnWord } from './text.js';

/** The longest reason kept from the moderator's answer: one line, shown in `/salon status`. */
const REASON_LENGTH = 200;
/** How much of each recent turn the moderator reads: enough to see who was addressed, cheap to send. */
const TURN_EXCERPT = 700;

export interface ModeratorRequest {
  messages: ChatMessage[];
  /** The JSON schema of the answer, for endpoints with structured output. */
  answerSchema: { name: string; schema: Record<string, unknown> };
}

export function moderatorRequest(salon: SalonRecord, index: number, eligible: Seat[], persona?: string): ModeratorRequest {
  const all = salon.seats.map((p) => p.name);
  const names = eligible.map((seat) => seatAt(salon, seat).name);
  const system = [
    `You moderate a salon: a public conversation between ${all.length} language models (${all.join(', ')}), held in a Discord thread ` +
      'where people watch and ask questions. Every participant speaks once in each round; you choose the order, one turn at a time.',
    'Choose who speaks next so that the conversation moves: favour a participant who was just addressed or challenged, ' +
      'one a question from the audience is waiting for, or one whose view is missing. You never speak in the salon yourself.',
    'Answer with JSON: {"speaker": "<exact name>", "reason": "<one short line>"}. If you cannot give JSON, answer with the exact name alone on the first line.',
    persona?.trim() ?? '',
  ]
    .filter(Boolean)
    .join('\n');
  const round = roundOf(salon, index);
  const asked = questionsByTurn(salon);
  const recent = salon.turns
    .slice(-2 * salon.seats.length)
    .flatMap((turn) => [
      ...(asked.get(turn.index) ?? []).map((q) => `[Question from ${q.author.name}]\n${cutOnWord(q.text, TURN_EXCERPT)}`),
      `${turn.name} (round ${turn.round}):\n${cutOnWord(turn.text, TURN_EXCERPT)}`,
    ]);
  const waiting = pendingInterjections(salon)
    .filter((q) => q.afterTurns <= index)
    .map((q) => `- ${q.author.name}${q.to !== undefined ? `, for ${salon.seats[q.to]?.name}` : ''}: ${cutOnWord(q.text, 300)}`);
  const spoke = salon.seats.filter((_, seat) => !eligible.includes(seat)).map((p) => p.name);
  const user = [
    `Topic: ${salon.topic}`,
    recent.length > 0 ? `The most recent turns:\n\n${recent.join('\n\n')}` : 'Nobody has spoken yet: choose who opens the salon.',
    ...(waiting.length > 0 ? [`Questions from the audience waiting for an answer:\n${waiting.join('\n')}`] : []),
    `Round ${round} of ${salon.rounds}.${spoke.length > 0 ? ` Already spoken in this round: ${spoke.join(', ')}.` : ''}`,
    `Who speaks next? Choose exactly one of: ${names.join(', ')}.`,
  ].join('\n\n');
  return {
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
    answerSchema: {
      name: 'next_speaker',
      schema: {
        type: 'object',
        properties: {
          speaker: { type: 'string', enum: names, description: 'The participant who speaks next' },
          reason: { type: 'string', description: 'Why, in one short line' },
        },
        required: ['speaker', 'reason'],
        additionalProperties: false,
      },
    },
  };
}

/** A phrase as a whole word (not inside a longer word), ignoring case. */
function phrase(text: string): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}])${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'giu');
}

/**
 * Each way a seat may be called (display name or model key, lower-case) and the seats it calls: one, except a key that
 * two seats share (one model in two seats).
 */
function spellings(salon: SalonRecord): Map<string, Seat[]> {
  const called = new Map<string, Seat[]>();
  salon.seats.forEach((p, seat) => {
    for (const name of new Set([p.name.toLowerCase(), p.key.toLowerCase()])) called.set(name, [...(called.get(name) ?? []), seat]);
  });
  return called;
}

/** The seats a name calls, given who may speak: a key two seats share means whichever of them may speak. */
function meant(seats: Seat[], eligible: Seat[]): Seat[] {
  const maySpeak = seats.filter((seat) => eligible.includes(seat));
  return maySpeak.length > 0 ? maySpeak : seats;
}

/** The seats `text` names, by display name or model key; a longer name is found before a shorter one inside it. */
function seatsNamed(salon: SalonRecord, text: string, eligible: Seat[]): Seat[] {
  const found = new Set<Seat>();
  let rest = text;
  for (const [name, seats] of [...spellings(salon)].sort((a, b) => b[0].length - a[0].length)) {
    const re = phrase(name);
    if (re.test(rest)) {
      for (const seat of meant(seats, eligible)) found.add(seat);
      rest = rest.replace(re, ' ');
    }
  }
  return [...found];
}

function oneLine(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const line = text.replace(/\s+/g, ' ').trim();
  return line ? cutOnWord(line, REASON_LENGTH) : undefined;
}

/** The JSON object in an answer, bare or in a code block; undefined when there is none. */
function jsonOf(text: string): Record<string, unknown> | undefined {
  const body = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(text)?.[1] ?? text;
  if (!body.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the moderator's answer: the one seat it names among `eligible`, or why it named none that may speak. */
export function readModeratorAnswer(salon: SalonRecord, text: string, eligible: Seat[]): ModeratorAnswer {
  const answer = text.trim();
  if (!answer) return { miss: 'unclear' };
  const json = jsonOf(answer);
  if (json) {
    const speaker = oneLine(json.speaker);
    const named = meant(speaker ? (spellings(salon).get(speaker.toLowerCase()) ?? []) : [], eligible);
    // A seat that may speak, or else one that has spoken (the pick says so); a shared key both of whose seats may
    // speak is unclear.
    const seat = named.length === 1 || !named.some((s) => eligible.includes(s)) ? named[0] : undefined;
    if (seat === undefined) return { miss: 'unclear' };
    const reason = oneLine(json.reason);
    return { seat, ...(reason ? { reason } : {}) };
  }
  // The name comes first, alone on its line as the prompt asks; what follows it, if anything, is the reason, which may
  // name other seats. An answer whose first line names no seat is read whole.
  const [first = '', ...rest] = answer.split('\n');
  const onFirst = seatsNamed(salon, first, eligible);
  const named = onFirst.length > 0 ? onFirst : seatsNamed(salon, answer, eligible);
  const maySpeak = named.filter((seat) => eligible.includes(seat));
  if (maySpeak.length === 1) {
    const reason = oneLine(rest.join(' '));
    return { seat: maySpeak[0]!, ...(reason ? { reason } : {}) };
  }
  // One seat named, and it has spoken already: said so, rather than "unclear".
  return named.length === 1 && maySpeak.length === 0 ? { seat: named[0]! } : { miss: 'unclear' };
}
