import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/logger.js';

/** A logger whose lines are kept in memory, so tests can read them (and check no secret is in them). */
export function memoryLogger(secrets: string[] = []): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', pretty: false, secrets, destination }), lines };
}
