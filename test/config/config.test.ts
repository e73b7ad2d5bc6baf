import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/index.js';
import { tempDir } from '../helpers/tmp.js';

const env = { OPENROUTER_API_KEY: 'sk-or-test-key' };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const valid = () => ({
  models: {
    claude: { name: 'Claude Opus 4.5', model: 'anthropic/claude-opus-4.5', baseURL: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY' },
    glm: { name: 'GLM 4.7', model: 'z-ai/glm-4.7', baseURL: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY' },
  },
  salon: { modelA: 'claude', modelB: 'glm' },
});

describe('config', () => {
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(() => dir?.cleanup());

  it('loads the shipped config/salon.yaml with the two models of the seeds', () => {
    const config = loadConfig('config/salon.yaml', env);
    expect(config.models.claude).toMatchObject({ name: 'Claude Opus 4.5', model: 'anthropic/claude-opus-4.5', apiKey: 'sk-or-test-key' });
    expect(config.models.glm).toMatchObject({ name: 'GLM 4.7', model: 'z-ai/glm-4.7', baseURL: 'https://openrouter.ai/api/v1' });
    expect(config.salon).toEqual({
      modelA: 'claude',
      modelB: 'glm',
      rounds: 5,
      turnDelaySeconds: 20,
      autoClose: false,
      stream: true,
      maxPendingQuestions: 10,
      budgetUSD: 2,
      synthesis: true,
      synthesizer: 'claude',
      repetition: { threshold: 0.8, maxNudges: 2 },
      order: 'round-robin',
      moderatorTimeoutSeconds: 20,
    });
    expect(config.models.claude!.pricing).toEqual({ prompt: 5, completion: 25, cachedPrompt: 0.5 });
    expect(config.access).toEqual({ channels: [], startRoles: [] });
  });

  it('fills every optional setting with a default', () => {
    const config = parseConfig(valid(), 'c.yaml', env);
    expect(config.models.glm).toMatchObject({ maxTokens: 1024, contextTokens: 32000, timeoutSeconds: 120, maxRetries: 3 });
    expect(config.models.glm!.temperature).toBeUndefined();
    expect(config.salon).toMatchObject({ rounds: 5, turnDelaySeconds: 20, autoClose: false });
  });

  it.each([
    ['a URL that is not one', (c: any) => (c.models.glm.baseURL = 'openrouter'), 'c.yaml: models.glm.baseURL: expected a URL (http:// or https://)'],
    ['a missing model id', (c: any) => delete c.models.glm.model, 'c.yaml: models.glm.model: expected a model id, e.g. anthropic/claude-opus-4.5'],
    ['an empty name', (c: any) => (c.models.claude.name = '  '), 'c.yaml: models.claude.name: expected a display name'],
    ['rounds out of range', (c: any) => (c.salon.rounds = 51), 'c.yaml: salon.rounds: expected a whole number from 1 to 50'],
    ['fractional rounds', (c: any) => (c.salon.rounds = 2.5), 'c.yaml: salon.rounds: expected a whole number from 1 to 50'],
    ['a negative delay', (c: any) => (c.salon.turnDelaySeconds = -1), 'c.yaml: salon.turnDelaySeconds: expected whole seconds from 0 to 86400'],
    ['an unknown seat model', (c: any) => (c.salon.modelB = 'gpt'), 'c.yaml: salon.modelB: unknown model "gpt"; expected one of: claude, glm'],
    ['a temperature out of range', (c: any) => (c.models.glm.temperature = 3), 'c.yaml: models.glm.temperature: expected a number from 0 to 2'],
    ['an avatar that is not a URL', (c: any) => (c.models.glm.avatarURL = 'glm.png'), 'c.yaml: models.glm.avatarURL: expected a URL'],
  ])('names the file and the key for %s', (_what, breakIt, expected) => {
    const config = valid();
    breakIt(config);
    const found = problems(() => parseConfig(config, 'c.yaml', env));
    expect(found.some((p) => p.startsWith(expected))).toBe(true);
  });

  it('reports a misspelt key by its path', () => {
    const config: any = valid();
    config.salon.autoclose = true;
    expect(problems(() => parseConfig(config, 'c.yaml', env))).toEqual(['c.yaml: salon.autoclose: unknown key (a typo? README lists every key)']);
  });

  it('reports a missing API key variable at load, naming the variable', () => {
    expect(problems(() => parseConfig(valid(), 'c.yaml', {}))).toEqual([
      'c.yaml: models.claude.apiKeyEnv: environment variable OPENROUTER_API_KEY is not set',
      'c.yaml: models.glm.apiKeyEnv: environment variable OPENROUTER_API_KEY is not set',
    ]);
  });

  it('needs no key for an endpoint without apiKeyEnv (a local Ollama)', () => {
    const config: any = valid();
    config.models.local = { name: 'Llama', model: 'llama3.2', baseURL: 'http://localhost:11434/v1' };
    config.salon.modelB = 'local';
    expect(parseConfig(config, 'c.yaml', env).models.local!.apiKey).toBeUndefined();
  });

  it('reads JSON as well as YAML, and says where a YAML file is broken', () => {
    dir = tempDir();
    const json = join(dir.path, 'salon.json');
    writeFileSync(json, JSON.stringify(valid()));
    expect(loadConfig(json, env).salon.modelA).toBe('claude');
    const broken = join(dir.path, 'broken.yaml');
    writeFileSync(broken, 'models:\n  claude: [unclosed\n');
    expect(problems(() => loadConfig(broken, env))[0]).toMatch(/^.*broken\.yaml: not valid YAML \(line \d+, column \d+\)/);
    expect(problems(() => loadConfig(join(dir!.path, 'missing.yaml'), env))[0]).toMatch(
      /missing\.yaml: cannot read the config file \(ENOENT\); set SALON_CONFIG/,
    );
  });
});
