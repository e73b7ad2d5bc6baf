/** The shape of config/salon.yaml, with defaults for everything optional. */
import { z } from 'zod';
import { LIMITS } from '../domain/limits.js';

const httpURL = z.string({ error: 'expected a URL' }).refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected a URL (http:// or https://)');

const price = z
  .number({ error: 'expected USD per million tokens' })
  .min(0, 'expected USD per million tokens, 0 or more')
  .max(10_000, 'expected USD per million tokens (at most 10000)');

const text = (what: string) =>
  z
    .string({ error: `expected ${what}` })
    .trim()
    .min(1, `expected ${what}`);

/** A whole number in `range`, with one message for every way of missing it. */
const wholeIn = (range: { min: number; max: number }, what = 'a whole number') => {
  const message = `expected ${what} from ${range.min} to ${range.max}`;
  return z.int({ error: message }).min(range.min, message).max(range.max, message);
};

const dollars = () => {
  const message = `expected dollars from ${LIMITS.budget.min} to ${LIMITS.budget.max}`;
  return z.number({ error: message }).min(LIMITS.budget.min, message).max(LIMITS.budget.max, message);
};

export const modelSchema = z.strictObject({
  name: text('a display name').max(LIMITS.displayName, `at most ${LIMITS.displayName} characters (Discord shows at most 80 in a webhook name)`),
  model: text('a model id, e.g. anthropic/claude-opus-4.5'),
  baseURL: httpURL,
  apiKeyEnv: z
    .string({ error: 'expected the name of an environment variable' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable, e.g. OPENROUTER_API_KEY')
    .optional(),
  system: z.string({ error: 'expected persona text' }).optional(),
  temperature: z.number({ error: 'expected a number from 0 to 2' }).min(0, 'expected a number from 0 to 2').max(2, 'expected a number from 0 to 2').optional(),
  maxTokens: z.int({ error: 'expected a whole number of tokens' }).min(16, 'expected at least 16').max(200_000).default(1024),
  contextTokens: z.int({ error: 'expected a whole number of tokens' }).min(1024, 'expected at least 1024').max(10_000_000).default(32_000),
  avatarURL: httpURL.optional(),
  timeoutSeconds: z.number({ error: 'expected seconds' }).positive('expected more than 0 seconds').max(3600).default(120),
  maxRetries: z.int({ error: 'expected a whole number' }).min(0).max(10).default(3),
  headers: z.record(z.string(), z.string({ error: 'expected a string header value' })).optional(),
  pricing: z
    .strictObject(
      {
        prompt: price,
        completion: price,
        cachedPrompt: price.optional(),
      },
      { error: 'expected { prompt, completion, cachedPrompt? } in USD per million tokens' },
    )
    .optional(),
  /**
   * Ask the endpoint for its own cost figure (OpenRouter's usage accounting). On by default for OpenRouter only,
   * since other endpoints may refuse the extra field.
   */
  usageAccounting: z.boolean({ error: 'expected true or false' }).optional(),
  /** Mark the stable prompt prefix for caching (cache_control); default: on for Anthropic models. */
  promptCaching: z.boolean({ error: 'expected true or false' }).optional(),
  /**
   * Ask for answers in a JSON schema (`response_format: json_schema`) where salon wants one (the moderator's pick).
   * On by default; an endpoint that refuses the field gets a plain question instead when this is false.
   */
  structuredOutput: z.boolean({ error: 'expected true or false' }).default(true),
});

export const salonSchema = z.strictObject({
  modelA: text('a model key'),
  modelB: text('a model key'),
  rounds: wholeIn(LIMITS.rounds).default(5),
  turnDelaySeconds: wholeIn(LIMITS.delay, 'whole seconds').default(20),
  autoClose: z.boolean({ error: 'expected true or false' }).default(false),
  stream: z.boolean({ error: 'expected true or false' }).default(true),
  maxPendingQuestions: wholeIn(LIMITS.pendingQuestions).default(10),
  budgetUSD: dollars().optional(),
  /** The most anyone may give a salon with `budget:`; absent: LIMITS.budget.max. */
  maxBudgetUSD: dollars().optional(),
  synthesis: z.boolean({ error: 'expected true or false' }).default(false),
  synthesizer: text('a model key').optional(),
  /** `round-robin`: the seats in order; `moderated`: the moderator model picks who speaks next, once per seat a round. */
  order: z.enum(['round-robin', 'moderated'], { error: 'expected round-robin or moderated' }).default('round-robin'),
  /** The model key that picks the next speaker when the order is moderated. */
  moderator: text('a model key').optional(),
  /** How long the moderator may take to pick before the salon falls back to who spoke least recently. */
  moderatorTimeoutSeconds: z
    .number({ error: 'expected seconds' })
    .positive('expected more than 0 seconds')
    .max(600, 'expected at most 600 seconds')
    .default(20),
  repetition: z
    .strictObject({
      threshold: z
        .number({ error: 'expected a number from 0.05 to 1' })
        .min(0.05, 'expected a number from 0.05 to 1')
        .max(1, 'expected a number from 0.05 to 1')
        .default(0.8),
      maxNudges: z
        .int({ error: 'expected a whole number from 1 to 20' })
        .min(1, 'expected a whole number from 1 to 20')
        .max(20, 'expected a whole number from 1 to 20')
        .default(2),
    })
    .default({ threshold: 0.8, maxNudges: 2 }),
});

const snowflake = z.string({ error: 'expected a Discord id (quoted, digits)' }).regex(/^\d{17,20}$/, 'expected a Discord id (17-20 digits, in quotes)');

export const accessSchema = z.strictObject({
  channels: z.array(snowflake, { error: 'expected a list of channel ids' }).default([]),
  startRoles: z.array(snowflake, { error: 'expected a list of role ids' }).default([]),
  maxActivePerGuild: z.int({ error: 'expected a whole number from 1 to 10000' }).min(1, 'expected a whole number from 1 to 10000').max(10_000).optional(),
  maxActivePerUser: z.int({ error: 'expected a whole number from 1 to 10000' }).min(1, 'expected a whole number from 1 to 10000').max(10_000).optional(),
});

export const webSchema = z.strictObject({
  /** `/salon share` may put salons on the web; false refuses it (what is shared already stays until unshared). */
  sharing: z.boolean({ error: 'expected true or false' }).default(true),
});

export const configSchema = z.strictObject({
  models: z
    .record(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'model keys are 1-32 letters, digits, - or _'), modelSchema, { error: 'expected a map of models' })
    .refine((m) => Object.keys(m).length > 0, 'expected at least one model'),
  salon: salonSchema,
  /** Named seat lists for `/salon start panel:`; each 2 to 6 model keys, in speaking order (a key may repeat). */
  panels: z
    .record(
      z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'panel names are 1-32 letters, digits, - or _'),
      z
        .array(text('a model key'), { error: 'expected a list of model keys' })
        .min(LIMITS.seats.min, `expected ${LIMITS.seats.min} to ${LIMITS.seats.max} model keys`)
        .max(LIMITS.seats.max, `expected ${LIMITS.seats.min} to ${LIMITS.seats.max} model keys`),
      // A value that is no map, or a bad name; a bad list keeps its own message.
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'expected a map of panels'
            : issue.code === 'invalid_key'
              ? 'panel names are 1-32 letters, digits, - or _'
              : undefined,
      },
    )
    .default({}),
  access: accessSchema.default({ channels: [], startRoles: [] }),
  web: webSchema.default({ sharing: true }),
});

export type ModelConfigInput = z.input<typeof modelSchema>;
