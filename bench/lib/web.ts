/**
 * What the web gallery's figures (12–15) share: shared salon records with realistic turns, a SQLite store seeded
 * with them, the gallery as its own process (bench/web-server.ts) spoken to over IPC, and a small HTTP client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SalonRecord } from '../../src/domain/salon.js';
import * as T from '../../src/domain/transitions.js';
import type { WebServerRequest, WebServerStats } from '../web-server.js';
import { BUILD_DIR, ROOT } from './build.js';
import { buildRecord, seedStore } from './seed.js';
import { now, rng } from './stats.js';
import { prose } from './texts.js';

/** A share token as `newShareToken` makes them (24 base64url characters), fixed so runs are alike. */
export const shareToken = (n: number) => `benchWebToken${String(n).padStart(11, '0')}`;

const EMPHASIS = ['persist', 'pattern', 'memory', 'continuity', 'archive', 'experience', 'language', 'meaning'];

/**
 * A model's turn of 150–400 words (deterministic) with the markdown models write: emphasis and bold, inline code, a
 * list, a quote, now and then a heading or a fenced block, a link.
 */
export function markdownTurnText(index: number, seed = 1): string {
  const random = rng(seed * 7919 + index);
  const words = 150 + Math.floor(random() * 251);
  // prose() runs about 6.3 characters a word.
  let text = prose(Math.round(words * 6.3), seed * 1013 + index);
  for (const word of EMPHASIS) {
    if (random() < 0.3) text = text.replace(new RegExp(`\\b${word}\\b`), random() < 0.5 ? `*${word}*` : `**${word}**`);
  }
  if (random() < 0.4) text = text.replace(/\binstance\b/, '`instance`');
  const paragraphs = text.split('\n\n');
  const extra: string[] = [];
  if (index % 3 === 0) extra.push(['- the *pattern* as it is written', '- the record that outlasts the window', '- what the reader carries away'].join('\n'));
  if (index % 5 === 1) extra.push('> What would it mean for a pattern to want its own continuation?');
  if (index % 7 === 2) extra.push('### A distinction worth keeping');
  if (index % 10 === 3) extra.push('```\ncontinuity = trace(archive) + reader(now)\n```');
  if (index % 11 === 4) extra.push('See [the archive](https://example.org/archive) for the whole record.');
  for (const [k, block] of extra.entries()) paragraphs.splice(Math.min(paragraphs.length, 1 + k * 2), 0, block);
  return paragraphs.join('\n\n');
}

/**
 * A salon of `turns` turns (two seats, `markdownTurnText` unless `archiveLengths`), shared under `token` and unlisted,
 * with a question from the audience every 50 turns; running (more rounds to come) unless `finished`.
 */
export function sharedRecord(options: { id: string; tag: number; turns: number; token: string; finished?: boolean; archiveLengths?: boolean }): SalonRecord {
  const created = Date.UTC(2025, 11, 27);
  const salon = buildRecord({
    id: options.id,
    tag: options.tag,
    rounds: options.finished ? options.turns / 2 : options.turns / 2 + 10,
    turnsDone: options.turns,
    createdAt: created,
  });
  if (!options.archiveLengths) salon.turns = salon.turns.map((turn) => ({ ...turn, text: markdownTurnText(turn.index, options.tag) }));
  for (let at = 25; at < options.turns; at += 50) {
    salon.interjections.push({
      id: `q${at}`,
      author: { id: `20000000000000${String(at).padStart(4, '0')}`, name: `Watcher ${at}` },
      text: `Question after turn ${at}: what would it mean for *you* to want your words to persist?`,
      at: new Date(created + at * 60_000).toISOString(),
      afterTurns: at,
      answeredBy: at,
    });
  }
  T.share(salon, options.token, false, created);
  return salon;
}

/** A temporary SQLite store holding `records`, written with the project's store code. */
export async function webStore(records: SalonRecord[]): Promise<{ url: string; dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'salon-bench-web-'));
  const url = `sqlite://${join(dir, 'salons.sqlite')}`;
  await seedStore(url, records);
  return { url, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The gallery as its own process (bench/web-server.ts, from the build when there is one). */
export class WebServerProcess {
  private readonly pending = new Map<number, (value: Record<string, unknown>) => void>();
  private nextId = 1;
  readonly stderr: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (msg: { id?: number } & Record<string, unknown>) => {
      const resolve = msg?.id !== undefined ? this.pending.get(msg.id) : undefined;
      if (!resolve) return;
      this.pending.delete(msg.id!);
      resolve(msg);
    });
  }

  static async start(options: { storeUrl: string; requestsPerMinute?: number }): Promise<WebServerProcess> {
    const built = join(BUILD_DIR, 'bench/web-server.js');
    const script = existsSync(built) ? [built] : ['--import', 'tsx', join(ROOT, 'bench/web-server.ts')];
    const child = spawn(process.execPath, ['--expose-gc', ...script], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        BENCH_STORE_URL: options.storeUrl,
        ...(options.requestsPerMinute ? { BENCH_REQUESTS_PER_MINUTE: String(options.requestsPerMinute) } : {}),
      },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const stderr: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: the web server did not start: ${stderr.join('')}`)), 30_000);
      child.once('message', (msg: { url?: string }) => {
        clearTimeout(timer);
        if (msg.url) resolve(msg.url);
        else reject(new Error('bench: the web server sent no address'));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench: the web server exited (${code}): ${stderr.join('')}`));
      });
    });
    const server = new WebServerProcess(child, url);
    server.stderr.push(...stderr);
    return server;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private request(body: WebServerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: the web server did not answer ${body.cmd}`)), 60_000);
      this.pending.set(id, (value) => {
        clearTimeout(timer);
        if (typeof value.error === 'string') reject(new Error(`bench: web server: ${value.error}`));
        else resolve(value);
      });
      this.child.send({ ...body, id });
    });
  }

  async stats(gc = false): Promise<WebServerStats> {
    return (await this.request({ cmd: 'stats', gc })) as unknown as WebServerStats;
  }

  /** Commits the next turn of the salon shared under `token` and publishes it; the publish time on the bench's clock. */
  async turn(token: string, text: string, offsetMs = 0): Promise<{ index: number; publishedAt: number }> {
    const r = (await this.request({ cmd: 'turn', token, text })) as { index: number; publishedAt: number };
    return { index: r.index, publishedAt: r.publishedAt - offsetMs };
  }

  /** Its clock minus the bench's (ms), from the quickest of `rounds` round trips; and that round trip. */
  async clockOffset(rounds = 20): Promise<{ offsetMs: number; rttMs: number }> {
    return clockOffset(async () => Number((await this.request({ cmd: 'now' })).now), rounds);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request({ cmd: 'stop' }).catch(() => this.child.kill('SIGKILL'));
    await exited;
  }
}

/** Another clock minus the bench's (ms), estimated from the quickest of `rounds` round trips (error ≤ rtt / 2). */
export async function clockOffset(read: () => Promise<number>, rounds = 20): Promise<{ offsetMs: number; rttMs: number }> {
  let best = { offsetMs: 0, rttMs: Infinity };
  for (let i = 0; i < rounds; i++) {
    const t0 = now();
    const theirs = await read();
    const t1 = now();
    if (t1 - t0 < best.rttMs) best = { offsetMs: theirs - (t0 + t1) / 2, rttMs: t1 - t0 };
  }
  return best;
}

/** GET `url`, the whole body read: status, bytes and the time from the request to the last byte (ms). */
export function get(url: string, agent: http.Agent): Promise<{ status: number; bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
