/** The panel settings of the config: every mistake named by its key, before the bot connects. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';

const env = { OPENROUTER_API_KEY: 'sk-or-test-key' };
const model = (name: string, id: string) => ({ name, model: id, baseURL: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY' });
const base = () => ({
  models: { claude: model('Claude Opus 4.5', 'anthropic/claude-opus-4.5'), glm: model('GLM 4.7', 'z-ai/glm-4.7'), gpt: model('GPT 5', 'openai/gpt-5') },
  salon: { modelA: 'claude', modelB: 'glm' } as Record<string, unknown>,
});

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, 'salon.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('panel config', () => {
  it('reads panels (a key may repeat), the order and the moderator, with their defaults', () => {
    const plain = parseConfig(base(), 'salon.yaml', env);
    expect(plain.panels).toEqual({});
    expect(plain.salon).toMatchObject({ order: 'round-robin', moderatorTimeoutSeconds: 20 });
    expect(plain.models.gpt!.structuredOutput).toBe(true);
    const config = parseConfig(
      { ...base(), panels: { trio: ['claude', 'glm', 'gpt'], twins: ['glm', 'glm'] }, salon: { ...base().salon, order: 'moderated', moderator: 'gpt' } },
      'salon.yaml',
      env,
    );
    expect(config.panels).toEqual({ trio: ['claude', 'glm', 'gpt'], twins: ['glm', 'glm'] });
    expect(config.salon).toMatchObject({ order: 'moderated', moderator: 'gpt' });
  });

  it('names the key of a panel with an unknown model, too few or too many seats', () => {
    expect(problems({ ...base(), panels: { trio: ['claude', 'llama', 'gpt'] } })).toEqual([
      'salon.yaml: panels.trio.1: unknown model "llama"; expected one of: claude, glm, gpt',
    ]);
    expect(problems({ ...base(), panels: { solo: ['claude'] } })).toEqual(['salon.yaml: panels.solo: expected 2 to 6 model keys']);
    expect(problems({ ...base(), panels: { crowd: Array(7).fill('glm') } })).toEqual(['salon.yaml: panels.crowd: expected 2 to 6 model keys']);
    expect(problems({ ...base(), panels: { 'no spaces': ['claude', 'glm'] } })[0]).toMatch(/^salon\.yaml: panels.*panel names are 1-32 letters/);
  });

  it('requires a known moderator for moderated order', () => {
    expect(problems({ ...base(), salon: { ...base().salon, order: 'moderated' } })).toEqual([
      'salon.yaml: salon.moderator: required when salon.order is moderated (the model key that picks who speaks next)',
    ]);
    expect(problems({ ...base(), salon: { ...base().salon, order: 'moderated', moderator: 'mini' } })).toEqual([
      'salon.yaml: salon.moderator: unknown model "mini"; expected one of: claude, glm, gpt',
    ]);
    expect(problems({ ...base(), salon: { ...base().salon, order: 'random' } })).toEqual(['salon.yaml: salon.order: expected round-robin or moderated']);
  });
});
