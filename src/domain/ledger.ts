/**
 * What a salon has spent: tokens and dollars per turn, per model and in total. A turn's cost is the endpoint's
 * own figure when it gives one (OpenRouter's usage accounting), else its tokens at the model's configured
 * prices, else unknown, and said so.
 */
import type { Cost, SalonRecord, Turn, Usage } from './salon.js';

/** USD per million tokens. */
export interface Pricing {
  prompt: number;
  completion: number;
  /** Prompt tokens served from the provider's cache; the prompt price when absent. */
  cachedPrompt?: number;
}

export function costOf(usage: Usage | undefined, pricing: Pricing | undefined): Cost | undefined {
  if (usage?.costUSD !== undefined) return { usd: usage.costUSD, source: 'endpoint' };
  if (!usage || !pricing || usage.promptTokens === undefined || usage.completionTokens === undefined) return undefined;
  const cached = Math.min(usage.cachedPromptTokens ?? 0, usage.promptTokens);
  const usd =
    ((usage.promptTokens - cached) * pricing.prompt + cached * (pricing.cachedPrompt ?? pricing.prompt) + usage.completionTokens * pricing.completion) /
    1_000_000;
  return { usd, source: 'pricing', ...(usage.estimated ? { estimated: true } : {}) };
}

export interface Tally {
  promptTokens: number;
  cachedPromptTokens: number;
  completionTokens: number;
  usd: number;
  /** Turns (or syntheses) whose cost is not known; their tokens still count. */
  unpriced: number;
  /** Whether any token count here is an estimate (the endpoint reported no usage). */
  estimated: boolean;
  /** Turns counted (a synthesis adds its tokens and cost, not a turn). */
  count: number;
}

export function emptyTally(): Tally {
  return { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, usd: 0, unpriced: 0, estimated: false, count: 0 };
}

/** Adds one turn, synthesis or moderator call to `tally` (counted in `count` when `isTurn`), and returns it. */
export function addToTally(tally: Tally, item: { usage?: Usage; cost?: Cost; isTurn: boolean }): Tally {
  if (item.isTurn) tally.count += 1;
  tally.promptTokens += item.usage?.promptTokens ?? 0;
  tally.cachedPromptTokens += item.usage?.cachedPromptTokens ?? 0;
  tally.completionTokens += item.usage?.completionTokens ?? 0;
  tally.estimated ||= item.usage?.estimated === true;
  if (item.cost) tally.usd += item.cost.usd;
  else tally.unpriced += 1;
  return tally;
}

/** Adds a whole tally to `total`, all but its count (the moderator's calls are not turns). */
function addTally(total: Tally, other: Tally): void {
  total.promptTokens += other.promptTokens;
  total.cachedPromptTokens += other.cachedPromptTokens;
  total.completionTokens += other.completionTokens;
  total.usd += other.usd;
  total.unpriced += other.unpriced;
  total.estimated ||= other.estimated;
}

export interface Ledger {
  /** By participant name, in seat order (then a synthesizer that held no seat). */
  byModel: { name: string; model: string; tally: Tally }[];
  /** The moderator's calls (moderated order), shown apart: `count` is its calls, not turns. */
  moderator?: { name: string; model: string; tally: Tally };
  /** Everything, the moderator included; `count` is turns only. */
  total: Tally;
}

/** Sums every turn written in this salon (turns carried into a fork were paid for by the parent) and the synthesis. */
export function ledgerOf(salon: SalonRecord): Ledger {
  const total = emptyTally();
  const byName = new Map<string, { name: string; model: string; tally: Tally }>();
  const entry = (name: string, model: string) => {
    let e = byName.get(`${name}\u0000${model}`);
    if (!e) byName.set(`${name}\u0000${model}`, (e = { name, model, tally: emptyTally() }));
    return e;
  };
  // Seats first, so the order is stable even before anyone has spoken.
  for (const seat of salon.seats) entry(seat.name, seat.model);
  const items: { name: string; model: string; usage?: Usage; cost?: Cost; isTurn: boolean }[] = salon.turns
    .slice(salon.carried ?? 0)
    .map((t: Turn) => ({ ...t, isTurn: true }));
  if (salon.synthesis?.status === 'done') items.push({ ...salon.synthesis, isTurn: false });
  for (const item of items) {
    addToTally(entry(item.name, item.model).tally, item);
    addToTally(total, item);
  }
  const moderation = salon.moderation;
  if (moderation) addTally(total, moderation);
  const moderator = salon.moderator && moderation ? { moderator: { name: salon.moderator.name, model: salon.moderator.model, tally: moderation } } : {};
  return { byModel: [...byName.values()], ...moderator, total };
}

export function spentUSD(salon: SalonRecord): number {
  return ledgerOf(salon).total.usd;
}

/** The salon has spent at least its budget (none set: never). */
export function overBudget(salon: SalonRecord): boolean {
  return salon.budgetUSD !== undefined && spentUSD(salon) >= salon.budgetUSD;
}

export function formatUSD(usd: number): string {
  if (usd === 0) return '$0';
  if (usd < 0.0001) return '<$0.0001';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

export function formatTokens(t: Tally): string {
  const cached = t.cachedPromptTokens > 0 ? ` (${t.cachedPromptTokens.toLocaleString('en-US')} cached)` : '';
  const approx = t.estimated ? '~' : '';
  return `${approx}${t.promptTokens.toLocaleString('en-US')} in${cached}, ${approx}${t.completionTokens.toLocaleString('en-US')} out`;
}

export function formatCost(t: Tally): string {
  if (t.unpriced > 0 && t.usd === 0) return 'cost unknown';
  // Estimated tokens make an estimated cost: marked like the tokens.
  const usd = `${t.estimated ? '~' : ''}${formatUSD(t.usd)}`;
  return t.unpriced > 0 ? `${usd} + cost unknown for ${t.unpriced}` : usd;
}
