/** Prompts for panels that the two-seat prompt tests do not reach: who is told they open a fork. */
import { describe, expect, it } from 'vitest';
import { buildPrompt } from '../../src/domain/prompts.js';
import { CLAUDE, GLM, GPT, forkSalon } from './panel-fixtures.js';

const settings = { contextTokens: 32_000, maxTokens: 1024 };
const topicOf = (seat: number, salon: ReturnType<typeof forkSalon>) => buildPrompt(salon, seat, settings).messages[1]!.content;

describe('who opened, in a fork', () => {
  it('tells a model it opens only when the first turn is its own, never when a parent’s model opened', () => {
    // The parent was Claude then GLM; the fork seats GPT first, then Claude.
    const fork = forkSalon([CLAUDE, GLM], 1, [GPT, CLAUDE], 1);
    expect(topicOf(0, fork)).toContain('Claude Opus 4.5 opens the salon.');
    expect(topicOf(0, fork)).not.toContain('You open the salon');
    // The same seats as the parent: its opener is told, as always, that it opened.
    const same = forkSalon([CLAUDE, GLM], 1, [CLAUDE, GLM], 1);
    expect(topicOf(0, same)).toContain('You open the salon');
    expect(topicOf(1, same)).toContain('Claude Opus 4.5 opens the salon.');
  });
});
