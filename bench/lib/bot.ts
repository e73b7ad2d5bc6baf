/**
 * The real bot as its own process, from a compiled build (see build.ts), against the fakes in the bench process,
 * so the fakes' CPU and memory never count as the bot's. Process figures are read from outside (/proc/<pid>/stat
 * and /proc/<pid>/status) or, for event-loop delay and heap, from the preloaded probe (probe.ts) over IPC.
 */
import { readLines } from '../../test/helpers/lines.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeRequest, ProbeStats } from '../probe.js';
import { BUILD_DIR } from './build.js';
import { now } from './stats.js';

export interface BotProcessOptions {
  dir: string;
  apiBase: string;
  token: string;
  modelsBaseURL: string;
  storeUrl?: string;
  rounds: number;
  turnDelaySeconds: number;
  /** More `salon:` settings, e.g. { stream: false }; the product's defaults otherwise. */
  salon?: Record<string, string | number | boolean>;
  /** More models beside `claude` and `glm` (same endpoint and limits), by key; e.g. a panel's other seats or a moderator. */
  models?: Record<string, { name: string; model: string; structuredOutput?: boolean }>;
  /** `panels:` of the config, for `/salon start panel:`. */
  panels?: Record<string, string[]>;
  /** Preload the probe (IPC). */
  probe?: boolean;
  exposeGc?: boolean;
  /** Write a V8 CPU profile into this directory (node --cpu-prof). */
  cpuProfDir?: string;
  logLevel?: string;
  /** More node flags, e.g. --trace-gc. */
  nodeArgs?: string[];
  /** More environment variables (SALON_ROLE, SALON_QUEUE_URL…), set after the bench's own. */
  env?: Record<string, string>;
}

export interface LogLine {
  line: Record<string, unknown>;
  /** Bench clock when the line was read. */
  readAt: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export class BotProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly spawnedAt: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();
  private readonly pending = new Map<number, (value: unknown) => void>();
  private nextId = 1;

  private constructor(readonly child: ChildProcess) {
    this.spawnedAt = now();
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.notify();
        resolve({ code, signal });
      }),
    );
    readLines(child.stdout!, (parts) => {
      const readAt = now();
      for (const part of parts) {
        try {
          this.logs.push({ line: JSON.parse(part) as Record<string, unknown>, readAt });
        } catch {
          this.logs.push({ line: { msg: part }, readAt });
        }
      }
      this.notify();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr.push(chunk);
      this.notify();
    });
    child.on('message', (msg: { id?: number }) => {
      const resolve = msg?.id !== undefined ? this.pending.get(msg.id) : undefined;
      if (resolve) {
        this.pending.delete(msg.id!);
        resolve(msg);
      }
    });
  }

  static start(options: BotProcessOptions): BotProcess {
    const config = join(options.dir, 'salon.yaml');
    const model = (name: string, id: string, extra = '') =>
      `{ name: ${JSON.stringify(name)}, model: ${id}, baseURL: "${options.modelsBaseURL}", apiKeyEnv: BENCH_MODEL_KEY, maxTokens: 1024, contextTokens: 32000, timeoutSeconds: 120, maxRetries: 1${extra} }`;
    const more = Object.entries(options.models ?? {}).map(
      ([key, m]) => `  ${key}: ${model(m.name, m.model, m.structuredOutput === undefined ? '' : `, structuredOutput: ${m.structuredOutput}`)}\n`,
    );
    const panels = Object.entries(options.panels ?? {}).map(([name, keys]) => `  ${name}: [${keys.join(', ')}]\n`);
    writeFileSync(
      config,
      `models:\n  claude: ${model('Claude Opus 4.5', 'anthropic/claude-opus-4.5')}\n  glm: ${model('GLM 4.7', 'z-ai/glm-4.7')}\n${more.join('')}` +
        `salon: { modelA: claude, modelB: glm, rounds: ${options.rounds}, turnDelaySeconds: ${options.turnDelaySeconds}, autoClose: false` +
        Object.entries(options.salon ?? {})
          .map(([k, v]) => `, ${k}: ${JSON.stringify(v)}`)
          .join('') +
        ' }\n' +
        (panels.length > 0 ? `panels:\n${panels.join('')}` : ''),
    );
    const args = [
      ...(options.nodeArgs ?? []),
      ...(options.exposeGc ? ['--expose-gc'] : []),
      ...(options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : []),
      ...(options.probe ? ['--import', join(BUILD_DIR, 'bench/probe.js')] : []),
      join(BUILD_DIR, 'src/main.js'),
    ];
    const child = spawn(process.execPath, args, {
      // A directory of its own, so no .env of the repository is read.
      cwd: options.dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DISCORD_TOKEN: options.token,
        DISCORD_API_BASE: options.apiBase,
        SALON_CONFIG: config,
        SALON_STORE_URL: options.storeUrl ?? `sqlite://${join(options.dir, 'salons.sqlite')}`,
        BENCH_MODEL_KEY: 'sk-bench-0123456789abcdef',
        LOG_LEVEL: options.logLevel ?? 'info',
        NODE_ENV: 'production',
        ...options.env,
      },
      stdio: options.probe ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    return new BotProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line that matches; rejects on timeout or exit. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < this.logs.length; seen++) {
          if (match(this.logs[seen]!.line)) return done(() => resolve(this.logs[seen]!));
        }
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done(() => reject(new Error(`bench: the bot exited; stderr: ${this.stderr.join('')}; last log: ${this.tail()}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`bench: no matching log line within ${timeoutMs} ms; last log: ${this.tail()} ${this.stderr.join('')}`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  waitForMessage(msg: string, timeoutMs?: number): Promise<LogLine> {
    return this.waitForLog((l) => l.msg === msg, timeoutMs);
  }

  /** User + system CPU time of the whole process (all threads), in ms, from /proc (clock-tick resolution). */
  cpuMs(): number {
    const { user, system } = this.cpu();
    return user + system;
  }

  /** User and system CPU time of the whole process, in ms. */
  cpu(): { user: number; system: number } {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    const ms = (ticks: string | undefined) => (Number(ticks) * 1000) / ticksPerSecond();
    return { user: ms(fields[11]), system: ms(fields[12]) };
  }

  /**
   * CPU time (user + system, ms) by kind of thread, from /proc/<pid>/task: the main (JavaScript) thread, V8's
   * helper threads (concurrent GC, compilation), libuv's pool (SQLite queries, file system, DNS), and the rest.
   */
  threadsCpu(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${this.pid}/task/${tid}/stat`, 'utf8');
        const name = readFileSync(`/proc/${this.pid}/task/${tid}/comm`, 'utf8').trim();
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
        const kind =
          tid === String(this.pid)
            ? 'main thread'
            : /^V8 /.test(name)
              ? 'V8 helpers (GC, compiler)'
              : /libuv/.test(name)
                ? 'libuv pool (SQLite, fs)'
                : 'other threads';
        out[kind] = (out[kind] ?? 0) + ms;
      } catch {
        // the thread ended
      }
    }
    return out;
  }

  /** VmRSS and VmHWM (peak) in bytes. */
  memory(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  }

  probe(cmd: 'stats', options?: { gc?: boolean }): Promise<ProbeStats>;
  probe(cmd: 'reset'): Promise<unknown>;
  probe(cmd: 'snapshot', options: { path: string }): Promise<{ path: string }>;
  probe(cmd: ProbeRequest['cmd'], options: { gc?: boolean; path?: string } = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench: the probe did not answer')), 120_000);
      this.pending.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      this.child.send({ id, cmd, ...options } satisfies ProbeRequest);
    });
  }

  /** SIGTERM (a clean shutdown, which also writes a --cpu-prof profile), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  private tail(): string {
    return this.logs
      .slice(-3)
      .map((l) => JSON.stringify(l.line))
      .join('\n');
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
