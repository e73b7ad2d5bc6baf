/**
 * What each model is shown on its turn.
 *
 * Each model sees the salon from its own seat: its own turns as `assistant`, everyone else's as `user`, labelled
 * with the speaker's name wherever more than one other could have said them (decided by seat, not model id, so two
 * copies of one model can talk). Only what a model said is ever shown, never its reasoning. The system prompt stays the same
 * for the whole salon, so the start of every request is a stable, cacheable prefix; what changes from turn
 * to turn (the round, the closing cue, questions waiting) goes in a short note at the end of the last message.
 */
import { estimateTokens, listOf } from './text.js';
import { orderOf } from './order.js';
import { nextTurn, questionsByTurn, questionsFor, seatAt, type Interjection, type SalonRecord, type Seat, type Turn } from './salon.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface SeatSettings {
  /** Extra persona text from the config. */
  persona?: string;
  /** The model's context window in tokens; the prompt is trimmed to fit it with room for the reply. */
  contextTokens: number;
  /** Tokens reserved for the reply. */
  maxTokens: number;
}

export interface Prompt {
  messages: ChatMessage[];
  /** Interjections the prompt asks the model to answer. */
  answering: string[];
  /** How many turns were left out to fit the context budget. */
  trimmedTurns: number;
  estimatedTokens: number;
}

type Piece =
  | { kind: 'topic'; text: string }
  /** `own`: written from this seat by the model in it now (a fork may carry turns another model wrote there). */
  | { kind: 'turn'; own: boolean; labelled: boolean; name: string; text: string }
  | { kind: 'question'; q: Interjection }
  | { kind: 'marker'; text: string };

// Per-message overhead of the chat format, in tokens.
const MESSAGE_OVERHEAD = 4;

/** The other participants' names, in seat order. */
function othersOf(salon: SalonRecord, seat: Seat): string[] {
  return salon.seats.filter((_, s) => s !== seat).map((p) => p.name);
}

/** Who speaks when, as the models are told it. */
function orderText(salon: SalonRecord): string {
  const all = salon.seats.map((p) => p.name);
  if (orderOf(salon) === 'moderated') return 'In each round every participant speaks once, in an order a moderator chooses.';
  if (all.length === 2) return `In each round ${all[0]} speaks first, then ${all[1]}.`;
  return `In each round every participant speaks once, in this order: ${all.join(', then ')}.`;
}

export function systemPrompt(salon: SalonRecord, seat: Seat, persona?: string): string {
  const self = seatAt(salon, seat).name;
  const others = othersOf(salon, seat);
  const n = salon.seats.length;
  const rounds =
    `The salon runs for ${salon.rounds} ${salon.rounds === 1 ? 'round' : 'rounds'}. ${orderText(salon)} ` +
    'A note at the end of each message tells you which round it is.';
  const closing = '- On your closing turn, draw the conversation together and end it gracefully.';
  const topic = ['', `The topic, set by ${salon.starter.name}:`, salon.topic, '', rounds, '', 'How to take part:'];
  // Two seats keep the words salons have always had; a panel is told who else is in the room, and that each of
  // them speaks for themselves.
  const lines =
    n === 2
      ? [
          `You are ${self}, one of two language models in a salon: ` +
            'a conversation between two models, held in public in a Discord thread, where people watch and sometimes ask questions.',
          `The other participant is ${others[0]}, another language model. You are speaking with ${others[0]}, not with a user.`,
          ...topic,
          `- Speak as yourself, in the first person, to ${others[0]}. Answer what they actually said: build on it, question it, disagree where you disagree.`,
          `- Messages in the user role are ${others[0]}'s words, except questions from people watching, which are labelled as such. ` +
            'When a question is put to you, answer it in your turn, by name.',
          `- Write only your own turn: do not write ${others[0]}'s lines, do not start with your name, ` +
            'and keep to a few paragraphs; people read this in a chat thread.',
          closing,
        ]
      : [
          `You are ${self}, one of ${n} language models in a salon: ` +
            `a conversation between ${n} models, held in public in a Discord thread, where people watch and sometimes ask questions.`,
          `The other participants are ${listOf(others)}, other language models. You are speaking with them, not with a user.`,
          ...topic,
          '- Speak as yourself, in the first person, to the others. Answer what they actually said: build on it, question it, ' +
            'disagree where you disagree, and say whom you are answering.',
          "- Messages in the user role hold the other participants' words, each under its speaker's name, and questions from " +
            'people watching, which are labelled as such. When a question is put to you, answer it in your turn, by name.',
          `- Write only your own turn: do not write lines for ${listOf(others)}, do not speak for them or guess what they think, ` +
            'do not start with your name, and keep to a few paragraphs; people read this in a chat thread.',
          closing,
        ];
  if (salon.parent) {
    lines.push(
      '',
      `This salon continues an earlier one after its round ${salon.parent.fromRound}: ` +
        "the earlier turns are shown as history, each under its speaker's name where that was another model.",
    );
  }
  if (persona?.trim()) lines.push('', persona.trim());
  return lines.join('\n');
}

function topicText(salon: SalonRecord, seat: Seat): string {
  // Whoever took the first turn, or this seat if it is about to: the same words on every later turn, for caching.
  // A fork's first turn may be a parent's, written by a model that holds no seat here (or another seat): it opened.
  const first = salon.turns[0];
  const to = salon.seats.length === 2 ? othersOf(salon, seat)[0] : 'the others';
  const opener =
    !first || isOwn(first, salon, seat)
      ? `You open the salon: say what draws you to the topic and put your first question or claim to ${to}.`
      : `${first.name} opens the salon.`;
  return `Topic: ${salon.topic}\n\n${opener}`;
}

function questionText(q: Interjection, salon: SalonRecord): string {
  const to = q.to !== undefined ? `, for ${salon.seats[q.to]?.name ?? 'someone'}` : '';
  // A display name is anyone's to choose: it must not close the label and write a note of its own.
  const name = q.author.name.replace(/[[\]\r\n]+/g, ' ').trim() || 'someone';
  return `[Question from ${name}, a person watching the salon${to}]\n${q.text}`;
}

function isOwn(turn: Turn, salon: SalonRecord, seat: Seat): boolean {
  return turn.seat === seat && turn.modelKey === salon.seats[seat]?.key;
}

function turnNote(salon: SalonRecord, seat: Seat, round: number, turn: { last: boolean; final: boolean }, questions: number): string {
  const others = othersOf(salon, seat);
  const other = others.length === 1 ? others[0]! : 'another participant';
  let note = `[Round ${round} of ${salon.rounds}. Your turn, ${seatAt(salon, seat).name}.`;
  if (turn.final) note += ' This is the final turn of the salon: close it gracefully.';
  else if (turn.last) {
    const after = others.length === 1 ? `${other} will have the final word` : 'others will speak after you';
    note += ` This is your closing turn: bring the conversation towards its end; ${after}.`;
  }
  if (questions > 0) note += questions === 1 ? ' Answer the question from the audience above.' : ' Answer the questions from the audience above.';
  if ((salon.repetitive ?? 0) > 0) {
    note +=
      ' The conversation has started to circle: the last turn mostly repeated earlier ones. ' +
      `Bring a genuinely new angle, challenge something ${other} said, or move towards a close.`;
  }
  return `${note}]`;
}

/** The chronological history as seat-neutral pieces: topic, then each turn preceded by the questions it answered. */
function history(salon: SalonRecord, seat: Seat, upTo: number): Piece[] {
  const pieces: Piece[] = [{ kind: 'topic', text: topicText(salon, seat) }];
  const answeredBy = questionsByTurn(salon);
  for (const turn of salon.turns.slice(0, upTo)) {
    for (const q of answeredBy.get(turn.index) ?? []) pieces.push({ kind: 'question', q });
    const own = isOwn(turn, salon, seat);
    // A turn another model wrote in this seat (carried into a fork) must not read as the other participant's; with
    // more than one other participant, every turn says whose it is.
    pieces.push({ kind: 'turn', own, labelled: !own && (turn.seat === seat || salon.seats.length > 2), name: turn.name, text: turn.text });
  }
  return pieces;
}

function roleOf(piece: Piece): 'user' | 'assistant' {
  return piece.kind === 'turn' && piece.own ? 'assistant' : 'user';
}

/** Joins adjacent pieces of the same role into one message, naming the other speaker when its words share a message with something else. */
function toMessages(pieces: Piece[], salon: SalonRecord): ChatMessage[] {
  const groups: { role: 'user' | 'assistant'; pieces: Piece[] }[] = [];
  for (const piece of pieces) {
    const role = roleOf(piece);
    const last = groups.at(-1);
    if (last && last.role === role) last.pieces.push(piece);
    else groups.push({ role, pieces: [piece] });
  }
  return groups.map(({ role, pieces: group }) => ({
    role,
    content: group
      .map((p) => {
        switch (p.kind) {
          case 'topic':
          case 'marker':
            return p.text;
          case 'question':
            return questionText(p.q, salon);
          case 'turn':
            return (group.length > 1 || p.labelled) && role === 'user' ? `${p.name}:\n${p.text}` : p.text;
        }
      })
      .join('\n\n'),
  }));
}

function size(messages: ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(m.content) + MESSAGE_OVERHEAD, 0);
}

/**
 * The messages for the next turn of `seat`. History beyond the budget is dropped oldest first,
 * always keeping the topic and the latest piece, with a marker where turns were left out.
 */
export function buildPrompt(salon: SalonRecord, seat: Seat, settings: SeatSettings): Prompt {
  const next = nextTurn(salon);
  const index = next?.index ?? salon.turns.length;
  const round = next?.round ?? salon.rounds;
  const turn = { last: next?.last ?? true, final: next?.final ?? true };
  const system: ChatMessage = { role: 'system', content: systemPrompt(salon, seat, settings.persona) };
  const waiting = questionsFor(salon, seat, index);
  const [topic, ...rest] = history(salon, seat, index);
  const tail: Piece[] = [...rest, ...waiting.map((q): Piece => ({ kind: 'question', q }))];
  const note = turnNote(salon, seat, round, turn, waiting.length);

  const budget = Math.max(0, settings.contextTokens - settings.maxTokens);
  const assemble = (dropped: number): ChatMessage[] => {
    const kept = tail.slice(dropped);
    const droppedTurns = tail.slice(0, dropped).filter((p) => p.kind === 'turn').length;
    const what = droppedTurns > 0 ? `${droppedTurns} earlier ${droppedTurns === 1 ? 'turn is' : 'turns are'}` : 'Earlier questions are';
    const marker: Piece[] = dropped > 0 ? [{ kind: 'marker', text: `[${what} left out here to fit the context window.]` }] : [];
    const messages = [system, ...toMessages([topic!, ...marker, ...kept], salon)];
    const final = messages.at(-1)!;
    // The note always rides on a user message, so the request ends on the user's side as chat models expect.
    if (final.role === 'user') final.content = `${final.content}\n\n${note}`;
    else messages.push({ role: 'user', content: note });
    return messages;
  };

  // Estimate where to cut from per-piece sizes (one pass), then check the assembled prompt and cut further if
  // labels and merging pushed it over. Never drop the other's last turn or the questions after it: they are
  // what this turn answers.
  const lastTurn = tail.findLastIndex((p) => p.kind === 'turn');
  const keepFrom = lastTurn >= 0 ? lastTurn : Math.max(0, tail.length - 1);
  const pieceSize = tail.map((p) => estimateTokens(p.kind === 'question' ? questionText(p.q, salon) : p.text) + MESSAGE_OVERHEAD);
  let remaining = size(assemble(0));
  let dropped = 0;
  while (remaining > budget && dropped < keepFrom) remaining -= pieceSize[dropped++]!;
  let messages = assemble(dropped);
  while (size(messages) > budget && dropped < keepFrom) messages = assemble(++dropped);
  return {
    messages,
    answering: waiting.map((q) => q.id),
    trimmedTurns: tail.slice(0, dropped).filter((p) => p.kind === 'turn').length,
    estimatedTokens: size(messages),
  };
}

/**
 * The request for a synthesis of the whole dialogue, in the manner of the hand-made archives: what the two agreed
 * on, where they differed, what stays open. The dialogue is given as one document, trimmed from the oldest turns
 * (the topic always kept) to fit the synthesizer's context.
 */
export function buildSynthesisPrompt(salon: SalonRecord, name: string, settings: SeatSettings): Prompt {
  const all = salon.seats.map((p) => p.name);
  const two = all.length === 2;
  const system = [
    `You are ${name}. You write the synthesis that closes the archive of a salon: a public conversation between ` +
      `${two ? 'two' : all.length} language models, ${listOf(all)}.`,
    'Write in English, in Markdown, without a title (the archive adds the heading "Synthesis").',
    (two
      ? 'Say what the two agreed on, where they differed, and which questions stay open'
      : 'Say where each participant stood (every one of them, by name), what they agreed on, where they differed, and which questions stay open') +
      ', as a short numbered list with a bold lead-in per point, each point one to three sentences, quoting a striking line where it helps.',
    'Be faithful to what was said; do not add opinions of your own. About 150 to 300 words.',
    settings.persona?.trim() ?? '',
  ]
    .filter(Boolean)
    .join('\n');
  const entries: string[] = [];
  const questions = questionsByTurn(salon);
  for (const turn of salon.turns) {
    for (const q of questions.get(turn.index) ?? []) entries.push(`### Question from ${q.author.name}\n\n${q.text}`);
    entries.push(`### Round ${turn.round}: ${turn.name}\n\n${turn.text}`);
  }
  const head = `## Topic\n\n${salon.topic}\n\n## The dialogue`;
  const budget = Math.max(0, settings.contextTokens - settings.maxTokens) - estimateTokens(system) - 2 * MESSAGE_OVERHEAD;
  let dropped = 0;
  let size = estimateTokens(head) + entries.reduce((n, e) => n + estimateTokens(e) + 1, 0);
  while (size > budget && dropped < entries.length - 1) size -= estimateTokens(entries[dropped++]!) + 1;
  const kept = entries.slice(dropped);
  const marker = dropped > 0 ? [`[${dropped} earlier entries are left out here to fit the context window.]`] : [];
  const user = [head, ...marker, ...kept, 'Write the synthesis now.'].join('\n\n');
  const messages: ChatMessage[] = [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
  return { messages, answering: [], trimmedTurns: dropped, estimatedTokens: estimateTokens(system) + estimateTokens(user) + 2 * MESSAGE_OVERHEAD };
}
