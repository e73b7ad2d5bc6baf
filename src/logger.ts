/**
 * One pino logger for the process. Secrets never reach the output: known secret-bearing paths are
 * redacted, and the token and API keys themselves are registered so any string containing them is masked.
 */
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'config.models.*.apiKey',
];

export interface LoggerOptions {
  level?: string;
  /** Human-readable output; defaults to on when stdout is a terminal and NODE_ENV is not production. */
  pretty?: boolean;
  /** Values that must never appear in a log line, such as the bot token and the API keys. */
  secrets?: string[];
  destination?: DestinationStream;
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 8);
  const mask = (line: string): string =>
    secrets
      .reduce((out, s) => out.split(s).join('[redacted]'), line)
      // Webhook and interaction tokens travel in URLs (a DiscordAPIError's url, say): they let anyone post.
      .replace(/(\/(?:webhooks|interactions)\/\d+\/)[A-Za-z0-9_.-]{16,}/g, '$1[redacted]');
  const pretty = (options.pretty ?? (process.stdout.isTTY && process.env.NODE_ENV !== 'production')) && prettyAvailable();
  const base = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Masking runs over the serialised line, so a secret inside an error message or a URL is caught as well.
    hooks: { streamWrite: mask },
  };
  if (pretty && !options.destination) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } });
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}
