/**
 * Figure 4: 1,000 concurrent salons in one bot process.
 *
 * The salons are written into the store before the bot starts (records built with the project's own domain code,
 * two turns already taken, threads created in the fake Discord over REST), so the bot resumes all of them at
 * start-up. Each takes its next turn at a moment spread over the first `spreadSeconds`, then one every
 * `turnDelaySeconds` plus the model's time: the steady state of a busy deployment, not one start-up burst.
 * Replies stream at `tokensPerSecond`.
 *
 * - event-loop delay p99: perf_hooks.monitorEventLoopDelay in the bot (bench/probe.ts, 10 ms resolution, which
 *   is subtracted), over `windowSeconds` from the moment the engine had started;
 * - memory per salon: after that window, heap (heapUsed + external + arrayBuffers after a full GC) sampled
 *   `memorySamples` times, 5 s apart, minus the same for the bot idle with no salon (a separate process), divided by
 *   the 1,000 salons, minus the text the salons hold (topic and turns, one byte a character);
 * - peak RSS: VmHWM of the bot process at the end (/proc/<pid>/status), which includes start-up.
 */
import { buildRecord, seedStore } from '../lib/seed.js';
import { rng, sleep } from '../lib/stats.js';
import { salonTag, streamingLatency, type ModelCall } from '../lib/models.js';
import { turnText } from '../lib/texts.js';
import { answers, World } from '../lib/world.js';
import type { InteractionHandle } from '../../test/fakes/discord/index.js';
import type { ProbeStats } from '../probe.js';
import { ELD_RESOLUTION_MS } from '../probe.js';

export interface ScaleOptions {
  salons: number;
  rounds: number;
  turnsDone: number;
  turnDelaySeconds: number;
  spreadSeconds: number;
  firstTokenMs: [number, number];
  tokensPerSecond: number;
  windowSeconds: number;
  memorySamples: number;
}

export interface ScaleResult {
  salons: number;
  peakRssBytes: number;
  rssBytes: number;
  baselineRssBytes: number;
  baselineHeapBytes: number;
  /** Per salon, beyond its text, one value per memory sample. */
  perSalonBytes: number[];
  perSalonRssBytes: number;
  textPerSalonBytes: number;
  eldP99Ms: number;
  eldP50Ms: number;
  eldMaxMs: number;
  turnsInWindow: number;
  modelCallsInFlight: number;
  discordRequestsPerSecond: number;
  /** Turns shown on more than one message in the threads at the end of the window (must be 0). */
  turnsShownTwice: number;
  /** `/salon status` commands sent the moment the gateway was up, while the bot loaded its salons, and those not answered in time. */
  commandsAtConnect: number;
  commandsUnanswered: number;
}

const COMMANDS_AT_CONNECT = 20;

const heapOf = (s: ProbeStats) => s.memory.heapUsed + s.memory.external + s.memory.arrayBuffers;

export async function scaleRun(options: ScaleOptions): Promise<ScaleResult> {
  // The bot with nothing to do: what a salon's memory is measured against.
  const idle = await World.start({ models: { text: () => 'unused', latencyMs: () => 1 } });
  const idleBot = await idle.startBot({ rounds: options.rounds, turnDelaySeconds: options.turnDelaySeconds, probe: true, exposeGc: true });
  let baselineHeapBytes: number;
  let baselineRssBytes: number;
  try {
    await sleep(3_000);
    baselineHeapBytes = heapOf(await idleBot.probe('stats', { gc: true }));
    baselineRssBytes = idleBot.memory().rss;
  } finally {
    await idle.close(idleBot);
  }

  const random = rng(11);
  const turnOf = new Map<number, number>();
  const world = await World.start({
    models: {
      text: (call) => {
        const tag = salonTag(call) ?? 0;
        const i = turnOf.get(tag) ?? options.turnsDone;
        turnOf.set(tag, i + 1);
        return turnText(i, tag + 1);
      },
      latencyMs: (call, text) => {
        (call as ModelCall & { firstTokenMs?: number }).firstTokenMs = options.firstTokenMs[0] + random() * (options.firstTokenMs[1] - options.firstTokenMs[0]);
        return streamingLatency((call as ModelCall & { firstTokenMs: number }).firstTokenMs, text, options.tokensPerSecond);
      },
      firstTokenMs: (call) => (call as ModelCall & { firstTokenMs: number }).firstTokenMs,
    },
  });
  const threads = await world.discord.createThreads(options.salons);
  const seededAt = Date.now();
  const records = threads.map((id, tag) => {
    const record = buildRecord({
      id,
      channelId: world.discord.fake.channelId,
      guildId: world.discord.fake.guildId,
      tag,
      rounds: options.rounds,
      delaySeconds: options.turnDelaySeconds,
      turnsDone: options.turnsDone,
      createdAt: seededAt - 3_600_000,
    });
    record.nextTurnAt = seededAt + 3_000 + random() * options.spreadSeconds * 1000;
    return record;
  });
  const seededText = records.reduce((n, r) => n + r.topic.length + r.turns.reduce((m, t) => m + t.text.length, 0), 0);
  await seedStore(world.storeUrl, records);
  const atConnect: InteractionHandle[] = [];
  const bot = await world.startBot({ rounds: options.rounds, turnDelaySeconds: options.turnDelaySeconds, probe: true, exposeGc: true }, 120_000, () => {
    for (const channelId of threads.slice(0, COMMANDS_AT_CONNECT)) {
      atConnect.push(world.discord.fake.interact({ user: world.members[0]!, channelId, name: 'salon', subcommand: 'status' }));
    }
  });
  try {
    const commands = answers(atConnect);
    const started = Date.now();
    await bot.probe('reset');
    await sleep(options.windowSeconds * 1000);
    const eld = (await bot.probe('stats')).eld;
    const windowEnd = Date.now();
    const perSalonBytes: number[] = [];
    let textPerSalonBytes = 0;
    let inFlight = 0;
    for (let i = 0; i < options.memorySamples; i++) {
      if (i > 0) await sleep(5_000);
      const at = Date.now();
      const stats = await bot.probe('stats', { gc: true });
      // Text held: what was seeded plus every reply the bot has received by now.
      const replies = world.models.requests.filter((c) => c.endAt !== undefined && c.endAt <= at);
      const text = seededText + replies.reduce((n, c) => n + (c.text?.length ?? 0), 0);
      textPerSalonBytes = text / options.salons;
      inFlight = world.models.requests.filter((c) => c.endAt === undefined).length;
      perSalonBytes.push((heapOf(stats) - baselineHeapBytes) / options.salons - textPerSalonBytes);
    }
    const { rss, peak } = bot.memory();
    const turnsInWindow = world.models.requests.filter((c) => c.endAt !== undefined && c.endAt <= windowEnd).length;
    const requests = world.discord.fake.requests.filter((r) => r.at >= started && r.at <= windowEnd).length;
    const { unanswered } = await commands;
    return {
      salons: options.salons,
      peakRssBytes: peak,
      rssBytes: rss,
      baselineRssBytes,
      baselineHeapBytes,
      perSalonBytes,
      perSalonRssBytes: (rss - baselineRssBytes) / options.salons - textPerSalonBytes,
      textPerSalonBytes,
      eldP99Ms: Math.max(0, eld.p99 - ELD_RESOLUTION_MS),
      eldP50Ms: Math.max(0, eld.p50 - ELD_RESOLUTION_MS),
      eldMaxMs: Math.max(0, eld.max - ELD_RESOLUTION_MS),
      turnsInWindow,
      modelCallsInFlight: inFlight,
      discordRequestsPerSecond: requests / ((windowEnd - started) / 1000),
      turnsShownTwice: world.discord.turnsShownTwice(threads),
      commandsAtConnect: atConnect.length,
      commandsUnanswered: unanswered,
    };
  } finally {
    await world.close(bot);
  }
}
