/**
 * Figure 5: start-up with 100,000 salons in the store, 1,000 of them unfinished.
 *
 * The 99,000 finished (closed) salons are written once with the project's store code and kept in bench/.cache
 * (they take a while to write; each record is a closed one-round salon of about 1.9 KB). Each bench run copies
 * that file and adds 1,000 unfinished salons whose threads it creates in the fake Discord, all due at once.
 * The model server never answers, so the store does not change between runs.
 *
 * Per run: the bot process is spawned; "ready" is its `connected to Discord` log line (discord.js's ready event);
 * "all resumed" is the moment the model server has received the next turn's request from every one of the 1,000
 * salons. The figure is all resumed − ready; spawn → ready and the engine's own `engine started` line are shown
 * beside it.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRecord, seedStore } from '../lib/seed.js';
import { now } from '../lib/stats.js';
import { World } from '../lib/world.js';

const CACHE_DIR = fileURLToPath(new URL('../.cache', import.meta.url));
const BASE_VERSION = 'v1';

export interface StartupOptions {
  stored: number;
  unfinished: number;
  runs: number;
  cpuProfDir?: string;
}

export interface StartupRun {
  spawnToReadyMs: number;
  readyToEngineMs: number;
  readyToAllResumedMs: number;
  resumed: number;
}

export async function baseStore(finished: number): Promise<{ path: string; seededMs?: number }> {
  const path = join(CACHE_DIR, `store-${finished}-finished-${BASE_VERSION}.sqlite`);
  if (existsSync(path)) return { path };
  mkdirSync(CACHE_DIR, { recursive: true });
  const partial = `${path}.partial`;
  rmSync(partial, { force: true });
  const createdAt = Date.UTC(2025, 0, 1);
  function* records() {
    for (let i = 0; i < finished; i++) {
      yield buildRecord({
        id: `8${String(i).padStart(17, '0')}`,
        tag: 1_000_000 + i,
        rounds: 1,
        turnsDone: 2,
        turnChars: 300,
        closed: true,
        createdAt: createdAt + i * 1000,
      });
    }
  }
  const seededMs = await seedStore(`sqlite://${partial}`, records());
  renameSync(partial, path);
  return { path, seededMs };
}

export async function startupRuns(options: StartupOptions): Promise<{ runs: StartupRun[]; seededMs?: number; storeBytes?: number }> {
  const base = await baseStore(options.stored - options.unfinished);
  const world = await World.start({ models: { text: () => 'unused', latencyMs: () => Number.POSITIVE_INFINITY } });
  const runs: StartupRun[] = [];
  try {
    copyFileSync(base.path, join(world.dir, 'salons.sqlite'));
    const threads = await world.discord.createThreads(options.unfinished);
    const createdAt = Date.now() - 3_600_000;
    await seedStore(
      world.storeUrl,
      threads.map((id, tag) =>
        buildRecord({ id, channelId: world.discord.fake.channelId, guildId: world.discord.fake.guildId, tag, rounds: 5, turnsDone: 2, createdAt }),
      ),
    );
    for (let run = 0; run < options.runs; run++) {
      world.models.reset();
      const allResumed = new Promise<number>((resolve) => {
        const onCall = () => {
          if (world.models.requests.length < options.unfinished) return;
          world.models.off('request', onCall);
          resolve(now());
        };
        world.models.on('request', onCall);
      });
      const bot = await world.startBot({ rounds: 5, turnDelaySeconds: 0, cpuProfDir: options.cpuProfDir }, 120_000);
      try {
        const resumedAt = await Promise.race([
          allResumed,
          new Promise<number>((_, reject) =>
            setTimeout(() => reject(new Error(`bench: only ${world.models.requests.length} of ${options.unfinished} salons resumed`)), 60_000),
          ),
        ]);
        const ready = bot.logs.find((l) => l.line.msg === 'connected to Discord')!;
        const engine = bot.logs.find((l) => l.line.msg === 'engine started')!;
        const readyAt = Number(ready.line.time);
        runs.push({
          spawnToReadyMs: readyAt - bot.spawnedAt,
          readyToEngineMs: Number(engine.line.time) - readyAt,
          readyToAllResumedMs: resumedAt - readyAt,
          resumed: Number(engine.line.resumed),
        });
      } finally {
        await bot.stop();
      }
    }
    return { runs, seededMs: base.seededMs };
  } finally {
    await world.close();
  }
}
