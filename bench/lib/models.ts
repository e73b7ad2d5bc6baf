/**
 * The bench's models: behaviours (reply text and latency per call) turned into scripts for the shared fake
 * OpenAI server, test/fakes/openai-server.ts, which also timestamps each request's arrival and the last byte of
 * its reply on the bench's one clock (the relay-overhead figure starts from `endAt`).
 *
 * Streaming requests (`stream: true`) get one SSE event per "token" of about four characters, as OpenRouter and
 * OpenAI send them; the first comes after `firstTokenMs` and the rest are spread evenly until the latency is over,
 * written in bursts at most every `burstMs` (each holding every event due by then), so the bot parses as many
 * events, in reads of about the size, as it would from a real endpoint streaming at the same speed.
 */
import { FakeOpenAI, type ChatRequest, type Reply, type Script } from '../../test/fakes/openai-server.js';

export { contentText } from '../../test/fakes/openai-server.js';
import { contentText } from '../../test/fakes/openai-server.js';
import { turnText } from './texts.js';

/** One model request as the bench sees it: the fake's record (arrivedAt, endAt, events, text). */
export type ModelCall = ChatRequest;

export interface ModelBehaviour {
  /** A reply of its own for some calls (a moderator's JSON pick, say), given as is: no marker, none of the rest. */
  reply?(call: ModelCall): Reply | undefined;
  /** The reply text; a unique `(r<index>) ` marker is put before it so posts can be matched to replies. */
  text(call: ModelCall): string;
  /** From the request's arrival to the reply's last byte; Infinity never answers (until stop). */
  latencyMs(call: ModelCall, text: string): number;
  /** Streaming: from arrival to the first text event (default 30% of the latency). */
  firstTokenMs?(call: ModelCall, latencyMs: number): number;
  /** Streaming: characters per SSE event (default 4). */
  tokenChars?: number;
  /** Streaming: the shortest time between two writes (default 20 ms). */
  burstMs?: number;
}

/** Latency of a model that answers after `firstTokenMs` and then streams `tokensPerSecond` tokens of four characters. */
export function streamingLatency(firstTokenMs: number, text: string, tokensPerSecond: number): number {
  return firstTokenMs + (Math.ceil(text.length / 4) / tokensPerSecond) * 1000;
}

export const MARKER = /\(r(\d+)\)/;

/** The `[s<n>]` tag the bench puts in each salon's topic, when the call's system prompt has one. */
export function salonTag(call: ModelCall): number | undefined {
  const tag = /\[s(\d+)\]/.exec(contentText(call.body.messages[0]?.content))?.[1];
  return tag === undefined ? undefined : Number(tag);
}

/** The fake server's script for a behaviour. */
export function benchScript(behaviour: ModelBehaviour): Script {
  return (call) => {
    const own = behaviour.reply?.(call);
    if (own) return own;
    const text = `(r${call.index}) ${behaviour.text(call)}`;
    const latency = behaviour.latencyMs(call, text);
    if (!Number.isFinite(latency)) return { hang: true };
    if (call.body.stream !== true) return { text, delayMs: latency };
    const tokenChars = behaviour.tokenChars ?? 4;
    const first = Math.min(latency, behaviour.firstTokenMs?.(call, latency) ?? latency * 0.3);
    // The first event carries the whole `(r<n>) ` marker, so that even the first draft of the turn names its call.
    const markerEnd = text.indexOf(' ') + 1;
    const chunks = [text.slice(0, markerEnd + tokenChars)];
    for (let i = markerEnd + tokenChars; i < text.length; i += tokenChars) chunks.push(text.slice(i, i + tokenChars));
    return {
      text,
      chunks,
      // Headers and the first event together, after `first`; the last event when the latency is over.
      delayMs: first,
      chunkDelayMs: chunks.length > 1 ? (latency - first) / (chunks.length - 1) : 0,
      burstMs: behaviour.burstMs ?? 20,
    };
  };
}

export function startModels(behaviour: ModelBehaviour): Promise<FakeOpenAI> {
  return FakeOpenAI.start(benchScript(behaviour));
}

/** Each salon's turns in order, one text a turn: what a model in a figure answers, numbered per salon. */
export function turnTextsBySalon(): (call: ModelCall) => string {
  const turnOfSalon = new Map<number, number>();
  return (call) => {
    const tag = salonTag(call) ?? 0;
    const index = turnOfSalon.get(tag) ?? 0;
    turnOfSalon.set(tag, index + 1);
    return turnText(index, tag + 1);
  };
}
