/**
 * Figure 7: prompt tokens per salon, from the real prompt builder (buildPrompt) over a salon played out with the
 * real transitions (commitTurn, markDelivered) and realistic turns (texts.ts), with the product's own estimate
 * (estimateTokens, about 3 characters a token, plus 4 per message).
 *
 * - sent: what salon sends, summed over every request of the salon;
 * - naive: the whole history resent every turn (no trimming);
 * - cacheable: per request, the tokens of the leading messages identical to the same seat's previous request
 *   and ending at one of that request's cache breakpoints (as the product marks them: withCacheBreakpoints), i.e.
 *   what Anthropic's prompt cache serves;
 * - billed with caching: Anthropic's prices relative to uncached input, cache reads 0.1×, cache writes 1.25× for
 *   what lies between the cached prefix and the request's last breakpoint.
 *
 * With `seats` above two (a round-robin panel of PANEL_SEATS), `perSeat` gives each seat's sent and cacheable tokens:
 * the cached share of a seat is cacheable / sent. A seat's own last turn is its breakpoint, so everything said after
 * it (every other seat's turn since) is read uncached once, whatever the number of seats.
 *
 * prefixStability() checks the same thing on the requests the model server received in a real run.
 */
import { knownSpeaker } from '../../src/domain/order.js';
import { buildPrompt, type ChatMessage } from '../../src/domain/prompts.js';
import { createSalon, nextTurn, type SalonRecord } from '../../src/domain/salon.js';
import { estimateTokens } from '../../src/domain/text.js';
import * as T from '../../src/domain/transitions.js';
import * as outbox from '../../src/domain/outbox.js';
import { withCacheBreakpoints } from '../../src/models/prompt-cache.js';
import { PANEL_SEATS, topicFor } from '../lib/seed.js';
import { turnText } from '../lib/texts.js';
import { contentText, salonTag, type ModelCall } from '../lib/models.js';

const MESSAGE_OVERHEAD = 4;
const tokens = (messages: readonly { content: string }[]) => messages.reduce((n, m) => n + estimateTokens(m.content) + MESSAGE_OVERHEAD, 0);

/** Indices of the messages the product marks with cache_control. */
function breakpoints(messages: ChatMessage[]): number[] {
  return withCacheBreakpoints(messages).flatMap((m, i) => (Array.isArray(m.content) ? [i] : []));
}

function commonPrefix(a: readonly ChatMessage[], b: readonly ChatMessage[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i]!.role === b[i]!.role && a[i]!.content === b[i]!.content) i++;
  return i;
}

export interface TokenFigure {
  rounds: number;
  seats: number;
  requests: number;
  sent: number;
  naive: number;
  cacheable: number;
  /** Input billed in uncached-token equivalents when the stable prefix is cached. */
  billedWithCache: number;
  /** Requests whose only difference from the same seat's previous request (in what came before) is its last message. */
  stablePrefixRequests: number;
  trimmedRequests: number;
  /** By seat, in seat order: prompt tokens sent and the cacheable part of them. */
  perSeat: { name: string; requests: number; sent: number; cacheable: number }[];
}

export function tokenFigure(rounds: number, { seats = 2, contextTokens = 32_000, maxTokens = 1_024 } = {}): TokenFigure {
  const t0 = Date.UTC(2025, 11, 27);
  let salon: SalonRecord = createSalon(
    {
      id: '900000000000000002',
      starter: { id: '1', name: 'Ada' },
      topic: topicFor(1),
      seats: PANEL_SEATS.slice(0, seats).map((p) => ({ ...p })),
      rounds,
      delaySeconds: 0,
    },
    t0,
  );
  outbox.markDelivered(salon, salon.outbox[0]!.key);
  const previous = new Map<number, ChatMessage[]>();
  const result: TokenFigure = {
    rounds,
    seats,
    requests: 0,
    sent: 0,
    naive: 0,
    cacheable: 0,
    billedWithCache: 0,
    stablePrefixRequests: 0,
    trimmedRequests: 0,
    perSeat: salon.seats.map((p) => ({ name: p.name, requests: 0, sent: 0, cacheable: 0 })),
  };
  for (let i = 0; nextTurn(salon); i++) {
    const seat = knownSpeaker(salon, salon.turns.length)!;
    const prompt = buildPrompt(salon, seat, { contextTokens, maxTokens });
    const naive = buildPrompt(salon, seat, { contextTokens: Number.MAX_SAFE_INTEGER, maxTokens });
    const sent = tokens(prompt.messages);
    result.requests += 1;
    result.sent += sent;
    result.naive += tokens(naive.messages);
    if (prompt.trimmedTurns > 0) result.trimmedRequests += 1;
    const before = previous.get(seat);
    const prefix = before ? commonPrefix(before, prompt.messages) : 0;
    if (before && prefix >= before.length - 1) result.stablePrefixRequests += 1;
    // Cache hit: the longest unchanged prefix that ends at one of the previous request's breakpoints.
    const hitEnd = before
      ? Math.max(
          0,
          ...breakpoints(before)
            .filter((i) => i < prefix)
            .map((i) => i + 1),
        )
      : 0;
    const read = tokens(prompt.messages.slice(0, hitEnd));
    const lastBreakpoint = Math.max(-1, ...breakpoints(prompt.messages));
    const written = lastBreakpoint + 1 > hitEnd ? tokens(prompt.messages.slice(hitEnd, lastBreakpoint + 1)) : 0;
    result.cacheable += read;
    const own = result.perSeat[seat]!;
    own.requests += 1;
    own.sent += sent;
    own.cacheable += read;
    result.billedWithCache += 0.1 * read + 1.25 * written + (sent - read - written);
    previous.set(seat, prompt.messages);
    T.commitTurn(
      salon,
      { index: i, text: turnText(i, 1), finishReason: 'stop', startedAt: t0 + i * 60_000, answered: prompt.answering },
      t0 + i * 60_000 + 30_000,
    );
    for (const post of [...salon.outbox]) outbox.markDelivered(salon, post.key);
    salon = structuredClone(salon);
  }
  return result;
}

export interface PrefixCheck {
  pairs: number;
  /** Consecutive requests of one seat where everything but the previous request's last message is unchanged. */
  stable: number;
  /** Pairs that diverged earlier; with the message index where they first differ. */
  diverged: number[];
  /** Share of all prompt characters that sat in the unchanged prefix. */
  cacheableShare: number;
}

const asText = (messages: ModelCall['body']['messages']): ChatMessage[] =>
  messages.map((m) => ({ role: m.role as ChatMessage['role'], content: contentText(m.content) }));

/** Compares consecutive requests of the same seat (same salon, same model) as the model server received them. */
export function prefixStability(calls: readonly ModelCall[]): PrefixCheck {
  const last = new Map<string, ModelCall['body']['messages']>();
  const check: PrefixCheck = { pairs: 0, stable: 0, diverged: [], cacheableShare: 0 };
  let total = 0;
  let cacheable = 0;
  for (const call of calls) {
    const key = `${salonTag(call)}:${call.body.model}`;
    const before = last.get(key);
    const size = call.body.messages.reduce((n, m) => n + contentText(m.content).length, 0);
    total += size;
    if (before) {
      check.pairs += 1;
      const prefix = commonPrefix(asText(before), asText(call.body.messages));
      if (prefix >= before.length - 1) check.stable += 1;
      else check.diverged.push(prefix);
      cacheable += call.body.messages.slice(0, Math.min(prefix, before.length - 1)).reduce((n, m) => n + contentText(m.content).length, 0);
    }
    last.set(key, call.body.messages);
  }
  check.cacheableShare = total === 0 ? 0 : cacheable / total;
  return check;
}
