import { parseConfig, type Config } from '../../src/config/index.js';

export interface TestConfigOptions {
  rounds?: number;
  turnDelaySeconds?: number;
  autoClose?: boolean;
  timeoutSeconds?: number;
  maxRetries?: number;
  contextTokens?: number;
  /** Put the same model in both seats. */
  sameModel?: boolean;
  /** Stream turns (the product's default); off unless a test is about streaming, so posts are whole. */
  stream?: boolean;
  maxPendingQuestions?: number;
}

/** Two models on one local endpoint, validated through the real config parser. */
export function testConfig(baseURL: string, options: TestConfigOptions = {}): Config {
  const model = (name: string, id: string) => ({
    name,
    model: id,
    baseURL,
    apiKeyEnv: 'TEST_MODEL_KEY',
    maxTokens: 256,
    contextTokens: options.contextTokens ?? 8000,
    timeoutSeconds: options.timeoutSeconds ?? 5,
    maxRetries: options.maxRetries ?? 2,
  });
  return parseConfig(
    {
      models: {
        claude: model('Claude Opus 4.5', 'anthropic/claude-opus-4.5'),
        glm: model('GLM 4.7', 'z-ai/glm-4.7'),
      },
      salon: {
        modelA: 'claude',
        modelB: options.sameModel ? 'claude' : 'glm',
        rounds: options.rounds ?? 2,
        turnDelaySeconds: options.turnDelaySeconds ?? 0,
        autoClose: options.autoClose ?? false,
        stream: options.stream ?? false,
        ...(options.maxPendingQuestions ? { maxPendingQuestions: options.maxPendingQuestions } : {}),
      },
    },
    'test.yaml',
    { TEST_MODEL_KEY: 'sk-test-0123456789abcdef' },
  );
}
