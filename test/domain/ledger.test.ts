/** The ledger: what a turn cost, and what a salon spent per model and in total. */
import { describe, expect, it } from 'vitest';
import { costOf, emptyTally, formatCost, formatTokens, formatUSD, ledgerOf, overBudget, spentUSD, type Tally } from '../../src/domain/ledger.js';
import type { SalonRecord, Turn, Usage } from '../../src/domain/salon.js';
import { close, commitSynthesis } from '../../src/domain/transitions.js';
import { CLAUDE, GLM, SEED_TURNS, T0, newSalon, playTurns } from './fixtures.js';

const tally = (overrides: Partial<Tally>): Tally => ({ ...emptyTally(), ...overrides });

/** Gives turn `index` this usage and the cost `costOf` makes of it. */
function charge(salon: SalonRecord, index: number, usage: Usage | undefined, pricing?: Parameters<typeof costOf>[1]): Turn {
  const turn = salon.turns[index]!;
  turn.usage = usage;
  turn.cost = costOf(usage, pricing);
  return turn;
}

describe('costOf', () => {
  it('takes the endpoint’s own figure first, even when the config has prices', () => {
    expect(costOf({ promptTokens: 1000, completionTokens: 200, costUSD: 0.0123 }, { prompt: 5, completion: 25 })).toEqual({ usd: 0.0123, source: 'endpoint' });
    expect(costOf({ costUSD: 0.5 }, undefined)).toEqual({ usd: 0.5, source: 'endpoint' });
    // A free model's endpoint says 0: that is a known cost, not an unknown one.
    expect(costOf({ promptTokens: 10, completionTokens: 10, costUSD: 0 }, undefined)).toEqual({ usd: 0, source: 'endpoint' });
  });

  it('prices tokens from the config: prompt, completion, and cached prompt tokens at the cached price', () => {
    // 600 × $5 + 400 × $0.50 + 200 × $25, per million.
    const cost = costOf({ promptTokens: 1000, cachedPromptTokens: 400, completionTokens: 200 }, { prompt: 5, completion: 25, cachedPrompt: 0.5 });
    expect(cost?.source).toBe('pricing');
    expect(cost?.usd).toBeCloseTo(0.0082, 12);
    // No cached price: cached tokens cost the prompt price.
    expect(costOf({ promptTokens: 1000, cachedPromptTokens: 400, completionTokens: 200 }, { prompt: 1, completion: 2 })?.usd).toBeCloseTo(0.0014, 12);
    // No cached tokens.
    expect(costOf({ promptTokens: 2_000_000, completionTokens: 1_000_000 }, { prompt: 3, completion: 15 })).toEqual({ usd: 21, source: 'pricing' });
  });

  it('never counts more cached tokens than prompt tokens', () => {
    const cost = costOf({ promptTokens: 100, cachedPromptTokens: 500, completionTokens: 0 }, { prompt: 10, completion: 10, cachedPrompt: 1 });
    expect(cost?.usd).toBeCloseTo((100 * 1) / 1e6, 15);
  });

  it('is unknown without usage, without prices, or with half the counts missing', () => {
    expect(costOf(undefined, { prompt: 1, completion: 1 })).toBeUndefined();
    expect(costOf({ promptTokens: 10, completionTokens: 10 }, undefined)).toBeUndefined();
    expect(costOf({ promptTokens: 10 }, { prompt: 1, completion: 1 })).toBeUndefined();
    expect(costOf({ completionTokens: 10 }, { prompt: 1, completion: 1 })).toBeUndefined();
  });
});

describe('ledgerOf', () => {
  it('sums tokens and cost per model, in seat order, and in total', () => {
    const salon = newSalon({ rounds: 2 });
    playTurns(salon, 4);
    charge(salon, 0, { promptTokens: 1000, cachedPromptTokens: 400, completionTokens: 200 }, { prompt: 5, completion: 25, cachedPrompt: 0.5 });
    charge(salon, 1, { promptTokens: 1500, completionTokens: 300, costUSD: 0.02 });
    charge(salon, 2, { promptTokens: 2000, cachedPromptTokens: 1000, completionTokens: 100, costUSD: 0.01 });
    charge(salon, 3, { promptTokens: 2500, completionTokens: 400, costUSD: 0.03 });
    const { byModel, total } = ledgerOf(salon);
    expect(byModel.map((m) => [m.name, m.model])).toEqual([
      [CLAUDE.name, CLAUDE.model],
      [GLM.name, GLM.model],
    ]);
    const [claude, glm] = byModel.map((m) => m.tally);
    expect(claude).toMatchObject({ promptTokens: 3000, cachedPromptTokens: 1400, completionTokens: 300, unpriced: 0, estimated: false, count: 2 });
    expect(claude!.usd).toBeCloseTo(0.0182, 12);
    expect(glm).toMatchObject({ promptTokens: 4000, cachedPromptTokens: 0, completionTokens: 700, unpriced: 0, count: 2 });
    expect(glm!.usd).toBeCloseTo(0.05, 12);
    expect(total).toMatchObject({ promptTokens: 7000, cachedPromptTokens: 1400, completionTokens: 1000, count: 4, unpriced: 0, estimated: false });
    expect(total.usd).toBeCloseTo(0.0682, 12);
    expect(spentUSD(salon)).toBeCloseTo(0.0682, 12);
  });

  it('lists both seats before either has spoken', () => {
    const { byModel, total } = ledgerOf(newSalon());
    expect(byModel.map((m) => m.name)).toEqual([CLAUDE.name, GLM.name]);
    expect(byModel.every((m) => m.tally.count === 0 && m.tally.usd === 0)).toBe(true);
    expect(total).toEqual(emptyTally());
  });

  it('counts turns of unknown cost and estimated tokens, and says so', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    charge(salon, 0, { promptTokens: 120, completionTokens: 40, estimated: true });
    charge(salon, 1, { promptTokens: 100, completionTokens: 50, costUSD: 0.004 });
    const { byModel, total } = ledgerOf(salon);
    expect(byModel[0]!.tally).toMatchObject({ promptTokens: 120, completionTokens: 40, usd: 0, unpriced: 1, estimated: true });
    expect(byModel[1]!.tally).toMatchObject({ unpriced: 0, estimated: false });
    expect(total).toMatchObject({ promptTokens: 220, completionTokens: 90, unpriced: 1, estimated: true, count: 2 });
    expect(total.usd).toBeCloseTo(0.004, 12);
  });

  it('ignores turns carried into a fork: the parent paid for them', () => {
    const parent = newSalon({ rounds: 2 });
    playTurns(parent, 4);
    for (let i = 0; i < 4; i++) charge(parent, i, { promptTokens: 100, completionTokens: 10, costUSD: 1 });
    const fork = newSalon({
      id: 'fork-1',
      rounds: 3,
      fork: { origin: { salonId: parent.id, fromRound: 2, topic: parent.topic }, turns: parent.turns },
    });
    expect(fork.carried).toBe(4);
    expect(ledgerOf(fork).total).toMatchObject({ count: 0, usd: 0, promptTokens: 0, unpriced: 0 });
    playTurns(fork, 1, T0);
    charge(fork, 4, { promptTokens: 7, completionTokens: 3, costUSD: 0.25 });
    const { byModel, total } = ledgerOf(fork);
    expect(total).toMatchObject({ count: 1, usd: 0.25, promptTokens: 7, completionTokens: 3 });
    expect(byModel[0]!.tally.count).toBe(1);
    expect(byModel[1]!.tally.count).toBe(0);
    expect(overBudget({ ...fork, budgetUSD: 0.5 })).toBe(false);
  });

  it('includes a written synthesis (its tokens and cost, not a turn), under its writer', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    charge(salon, 0, { promptTokens: 100, completionTokens: 10, costUSD: 0.01 });
    charge(salon, 1, { promptTokens: 100, completionTokens: 10, costUSD: 0.02 });
    close(salon, T0 + 120_000, { synthesizer: { key: 'sonnet', name: 'Sonnet', model: 'anthropic/claude-sonnet' } });
    commitSynthesis(
      salon,
      {
        ok: true,
        name: 'Sonnet',
        model: 'anthropic/claude-sonnet',
        text: 'They agreed.',
        usage: { promptTokens: 500, completionTokens: 80 },
        cost: { usd: 0.005, source: 'pricing' },
      },
      T0 + 130_000,
    );
    const { byModel, total } = ledgerOf(salon);
    expect(byModel.map((m) => m.name)).toEqual([CLAUDE.name, GLM.name, 'Sonnet']);
    expect(byModel[2]!.tally).toMatchObject({ count: 0, promptTokens: 500, completionTokens: 80, usd: 0.005 });
    expect(total).toMatchObject({ count: 2, promptTokens: 700, completionTokens: 100 });
    expect(total.usd).toBeCloseTo(0.035, 12);
  });

  it('adds a synthesis by a seated model to that model’s tally', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    charge(salon, 0, { promptTokens: 100, completionTokens: 10, costUSD: 0.01 });
    charge(salon, 1, { promptTokens: 100, completionTokens: 10, costUSD: 0.02 });
    close(salon, T0 + 120_000, { synthesizer: CLAUDE });
    commitSynthesis(
      salon,
      {
        ok: true,
        name: CLAUDE.name,
        model: CLAUDE.model,
        text: 'Synthesis.',
        usage: { promptTokens: 300, completionTokens: 50, costUSD: 0.04 },
        cost: { usd: 0.04, source: 'endpoint' },
      },
      T0 + 130_000,
    );
    const { byModel, total } = ledgerOf(salon);
    expect(byModel).toHaveLength(2);
    expect(byModel[0]!.tally).toMatchObject({ count: 1, promptTokens: 400 });
    expect(byModel[0]!.tally.usd).toBeCloseTo(0.05, 12);
    expect(total.usd).toBeCloseTo(0.07, 12);
  });

  it('leaves out a synthesis that failed', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 2);
    close(salon, T0 + 120_000, { synthesizer: CLAUDE });
    commitSynthesis(salon, { ok: false, name: CLAUDE.name, model: CLAUDE.model, reason: 'the API key was refused (HTTP 401)' }, T0 + 130_000);
    const { byModel, total } = ledgerOf(salon);
    expect(byModel).toHaveLength(2);
    expect(total.count).toBe(2);
    // The two turns had no usage at all: unknown cost, counted as such.
    expect(total.unpriced).toBe(2);
  });

  it('reaches the budget when spending equals it', () => {
    const salon = newSalon({ rounds: 2, budgetUSD: 0.06 });
    playTurns(salon, 2);
    charge(salon, 0, { costUSD: 0.03 });
    expect(overBudget(salon)).toBe(false);
    charge(salon, 1, { costUSD: 0.03 });
    expect(overBudget(salon)).toBe(true);
    expect(overBudget({ ...salon, budgetUSD: undefined })).toBe(false);
  });

  it('works on the seed texts without usage: tokens 0, cost unknown per turn', () => {
    const salon = newSalon({ rounds: 4 });
    playTurns(salon, 8, T0, SEED_TURNS);
    const { total } = ledgerOf(salon);
    expect(total).toMatchObject({ count: 8, unpriced: 8, usd: 0, promptTokens: 0 });
  });
});

describe('formatting', () => {
  it('formatUSD: $0, four decimals under a cent, else two', () => {
    expect(formatUSD(0)).toBe('$0');
    expect(formatUSD(0.0082)).toBe('$0.0082');
    expect(formatUSD(0.0096)).toBe('$0.0096');
    expect(formatUSD(0.01)).toBe('$0.01');
    expect(formatUSD(0.0579)).toBe('$0.06');
    expect(formatUSD(4.9421)).toBe('$4.94');
    expect(formatUSD(1000)).toBe('$1000.00');
  });

  it('formatTokens: thousands separated, cached shown, estimates marked ~', () => {
    expect(formatTokens(tally({ promptTokens: 12345, completionTokens: 678 }))).toBe('12,345 in, 678 out');
    expect(formatTokens(tally({ promptTokens: 1000, cachedPromptTokens: 400, completionTokens: 200 }))).toBe('1,000 in (400 cached), 200 out');
    expect(formatTokens(tally({ promptTokens: 1500, completionTokens: 30, estimated: true }))).toBe('~1,500 in, ~30 out');
    expect(formatTokens(emptyTally())).toBe('0 in, 0 out');
  });

  it('formatCost: a sum, "cost unknown", or both', () => {
    expect(formatCost(tally({ usd: 0.0579 }))).toBe('$0.06');
    expect(formatCost(tally({ usd: 0 }))).toBe('$0');
    expect(formatCost(tally({ usd: 0, unpriced: 2 }))).toBe('cost unknown');
    expect(formatCost(tally({ usd: 0.25, unpriced: 1 }))).toBe('$0.25 + cost unknown for 1');
  });
});
