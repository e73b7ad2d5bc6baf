/**
 * Loads and validates the config once at start-up into a typed object.
 * Every error names the file and the key at fault, e.g. `config/salon.yaml: models.glm.baseURL: expected a URL`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { accessSchema, configSchema, modelSchema, salonSchema, webSchema } from './schema.js';

export interface ModelConfig extends z.output<typeof modelSchema> {
  key: string;
  /** The API key read from `apiKeyEnv`, or undefined for an endpoint that takes none. */
  apiKey?: string;
}

export type SalonDefaults = z.output<typeof salonSchema>;
export type AccessConfig = z.output<typeof accessSchema>;
export type WebConfig = z.output<typeof webSchema>;

export interface Config {
  file: string;
  models: Record<string, ModelConfig>;
  salon: SalonDefaults;
  /** Named seat lists (model keys in speaking order), each checked against `models`. */
  panels: Record<string, string[]>;
  access: AccessConfig;
  web: WebConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || '(top level)';
}

/** Validates an already-parsed config object. `env` supplies the API key variables. */
export function parseConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.flatMap((i) =>
        i.code === 'unrecognized_keys'
          ? i.keys.map((key) => `${file}: ${keyPath([...i.path, key])}: unknown key (a typo? README lists every key)`)
          : [`${file}: ${keyPath(i.path)}: ${i.message}`],
      ),
    );
  }
  const data = result.data;
  const problems: string[] = [];
  // No prototype: a model key typed by a person ("constructor") can never find a built-in property.
  const models = Object.create(null) as Record<string, ModelConfig>;
  for (const [key, m] of Object.entries(data.models)) {
    let apiKey: string | undefined;
    if (m.apiKeyEnv) {
      apiKey = env[m.apiKeyEnv]?.trim();
      if (!apiKey) problems.push(`${file}: models.${key}.apiKeyEnv: environment variable ${m.apiKeyEnv} is not set`);
    }
    models[key] = { ...m, key, apiKey };
  }
  const unknown = (path: string, key: string) => `${file}: ${path}: unknown model "${key}"; expected one of: ${Object.keys(models).join(', ')}`;
  for (const seat of ['modelA', 'modelB', 'synthesizer', 'moderator'] as const) {
    const key = data.salon[seat];
    if (key !== undefined && !Object.hasOwn(models, key)) problems.push(unknown(`salon.${seat}`, key));
  }
  if (data.salon.order === 'moderated' && data.salon.moderator === undefined) {
    problems.push(`${file}: salon.moderator: required when salon.order is moderated (the model key that picks who speaks next)`);
  }
  const panels = Object.create(null) as Record<string, string[]>;
  for (const [name, keys] of Object.entries(data.panels)) {
    keys.forEach((key, i) => {
      if (!Object.hasOwn(models, key)) problems.push(unknown(`panels.${name}.${i}`, key));
    });
    panels[name] = keys;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, models, salon: data.salon, panels, access: data.access, web: data.web };
}

/** Reads SALON_CONFIG (YAML, or JSON, which is YAML too) and validates it. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read the config file (${code ?? String(err)}); set SALON_CONFIG to its path`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(source, { prettyErrors: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : '';
    throw new ConfigError([`${file}: not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(raw, file, env);
}
