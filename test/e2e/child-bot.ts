/**
 * The bot as a real process (`node --import tsx src/main.ts`), for what only a process can show:
 * start-up errors and exit codes, signals, and kill -9 in the middle of a turn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLines } from '../helpers/lines.js';
import { waitUntil } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildBotOptions {
  apiBase: string;
  token: string;
  modelsBaseURL: string;
  dir: string;
  storeUrl?: string;
  rounds?: number;
  turnDelaySeconds?: number;
  stream?: boolean;
  /** Replaces the config file's text. */
  configText?: string;
  /** The config file's name in `dir` (default salon.yaml), for processes that must not share one. */
  configName?: string;
  env?: Record<string, string>;
}

export class ChildBot {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly process: ChildProcess) {
    this.exited = new Promise((resolve) =>
      process.once('exit', (code, signal) => {
        this.notify();
        resolve({ code, signal });
      }),
    );
    readLines(process.stdout!, (lines) => {
      this.lines.push(...lines);
      this.notify();
    });
    process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr.push(chunk);
      this.notify();
    });
  }

  static start(options: ChildBotOptions): ChildBot {
    const config = join(options.dir, options.configName ?? 'salon.yaml');
    writeFileSync(
      config,
      options.configText ??
        `models:
  claude: { name: Claude Opus 4.5, model: anthropic/claude-opus-4.5, baseURL: "${options.modelsBaseURL}", apiKeyEnv: TEST_MODEL_KEY, timeoutSeconds: 10, maxRetries: 1 }
  glm: { name: GLM 4.7, model: z-ai/glm-4.7, baseURL: "${options.modelsBaseURL}", apiKeyEnv: TEST_MODEL_KEY, timeoutSeconds: 10, maxRetries: 1 }
salon: { modelA: claude, modelB: glm, rounds: ${options.rounds ?? 2}, turnDelaySeconds: ${options.turnDelaySeconds ?? 0}, stream: ${options.stream ?? false} }
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DISCORD_TOKEN: options.token,
        DISCORD_API_BASE: options.apiBase,
        SALON_CONFIG: config,
        SALON_STORE_URL: options.storeUrl ?? `sqlite://${join(options.dir, 'salons.sqlite')}`,
        TEST_MODEL_KEY: 'sk-test-0123456789abcdef',
        LOG_LEVEL: 'debug',
        NODE_ENV: 'production',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ChildBot(child);
  }

  /** Resolves with the first log line (parsed) that matches; rejects on timeout or exit. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    let seen = 0;
    const last = () => `last lines:\n${this.lines.slice(-5).join('\n')}`;
    return waitUntil(
      () => {
        for (; seen < this.lines.length; seen++) {
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(this.lines[seen]!) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (match(parsed)) return parsed;
        }
        if (this.process.exitCode !== null || this.process.signalCode !== null) {
          throw new Error(`the bot exited before the expected log line; ${last()}\nstderr: ${this.stderr.join('')}`);
        }
        return undefined;
      },
      (recheck) => {
        this.waiters.add(recheck);
        return () => this.waiters.delete(recheck);
      },
      timeoutMs,
      () => `no matching log line within ${timeoutMs} ms; ${last()}\n${this.stderr.join('')}`,
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.process.kill(signal);
    return this.exited;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
