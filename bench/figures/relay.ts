/**
 * Figures 1 and 2 (and the run behind them): `salons` salons started through real `/salon start` interactions,
 * all running at once (delay 0 unless set), against the fake Discord with its rate limits off (so the limiter's waits are
 * not counted as salon's) and the bench model server. Replies are realistic turns (texts.ts), streamed when the bot
 * asks for a stream (the product's `salon.stream`, on by default) at `tokensPerSecond` after a first-token wait,
 * or sent whole after `latencyMs` otherwise.
 *
 * Relay overhead of a turn: the fake Discord's arrival time of the request that put the turn's final text on
 * Discord (the post, or with streaming the edit that finishes the draft) minus the model server's time of writing
 * the last byte of the reply, both on the bench process's clock. It covers the HTTP client finishing the reply,
 * the commit (record clone + SQLite save), scheduling, and discord.js sending the request, including any wait
 * in discord.js's per-route queue behind other salons' requests.
 * The bot's own "turn written" log line (after the commit's save; millisecond clock) splits that in two.
 *
 * CPU per turn: the bot process's CPU time (user + system, all threads, from /proc/<pid>/stat) from just before
 * the first interaction until every salon has posted its "finished" notice, divided by the turns relayed. Salon
 * creation (thread, header, notices) and streaming (SSE parsing, drafts) are included; process start-up is not.
 * It is also sampled every second, giving CPU per turn in 5-second windows.
 *
 * Panels (figures 10 and 11): `seats` above two start every salon with a config panel of that many distinct models
 * (PANEL_SEATS, round-robin unless moderated); `moderatorDelayMs` sets the order to moderated, with MODERATOR
 * answering each pick as a structured-output endpoint does (`Reply.json`) after a delay from that range.
 */
import { estimateTokens } from '../../src/domain/text.js';
import { responseSchemaOf } from '../../test/fakes/openai-server.js';
import { turnsOnDiscord } from '../lib/discord.js';
import { contentText, salonTag, streamingLatency, turnTextsBySalon, type ModelCall } from '../lib/models.js';
import { MODERATOR, PANEL_SEATS } from '../lib/seed.js';
import { rng } from '../lib/stats.js';
import { World } from '../lib/world.js';

export interface RelayOptions {
  salons: number;
  rounds: number;
  /** Streaming: wait before the first token, drawn uniformly from this range (ms). */
  firstTokenMs: [number, number];
  /** Streaming speed, in tokens of four characters. */
  tokensPerSecond: number;
  /** Whole (non-streamed) replies: latency drawn uniformly from this range (ms). */
  latencyMs: [number, number];
  /** Seats per salon (default 2): more start with `/salon start panel:` from PANEL_SEATS, in seat order. */
  seats?: number;
  /**
   * Moderated order: the moderator (MODERATOR, structured output) answers each pick after a delay drawn by the fake
   * from this range (its seeded PRNG), naming one of the seats it may choose (this run's own seeded draw).
   */
  moderatorDelayMs?: [number, number];
  /** Start the salons this far apart (default: in batches of 20, each once the last is acknowledged). */
  spacingMs?: number;
  /** Seconds between turns (default 0). */
  turnDelaySeconds?: number;
  /** salon: settings for the bot, e.g. { stream: false }. */
  salon?: Record<string, string | number | boolean>;
  cpuProfDir?: string;
  seed?: number;
  /** Also measure the heap (after a full GC) before the salons and after they have all finished. */
  memory?: boolean;
  /** More node flags for the bot. */
  nodeArgs?: string[];
  /** With `memory`: write a heap snapshot of the bot here at the end. */
  heapSnapshot?: string;
}

export interface RelayRun {
  turns: number;
  seats: number;
  /** Turn requests (the moderator's left out): the product's token estimate of the prompt, per request. */
  promptTokensPerRequest: number;
  /** Model last byte → the final text's request at Discord, ms. */
  overheadMs: number[];
  /** Model last byte → the bot's "turn written" log line (commit saved), ms (log clock: whole ms). */
  commitMs: number[];
  /** "turn written" → Discord, ms. */
  deliverMs: number[];
  /** Discord requests that posted or edited a turn's messages (one per message part without streaming; drafts add edits). */
  requestsPerTurn: number;
  /** Whether the bot asked for streamed replies. */
  streamed: boolean;
  eventsPerTurn: number;
  cpuMs: number;
  cpuPerTurnMs: number;
  /** CPU per turn by kind of thread (see BotProcess.threadsCpu). */
  threadsPerTurnMs: Record<string, number>;
  /** Share of the CPU time spent in user mode (the rest is the kernel: sockets, files). */
  userShare: number;
  /** CPU per turn in 5-second windows with at least 10 turns completed. */
  cpuWindowsMs: number[];
  wallMs: number;
  calls: ModelCall[];
  /** With `memory`: heap still held per salon after every salon has finished, and the text each one produced. */
  retainedPerSalonBytes?: number;
  textPerSalonBytes?: number;
  violations: number;
  discordRequests: number;
  /** Turns shown on more than one message in the threads at the end (must be 0). */
  turnsShownTwice: number;
  /** `/salon start` commands sent, and those not answered in time (must be 0). */
  commandsSent: number;
  commandsUnanswered: number;
  /** The bot's stdout lines that were not JSON (e.g. --trace-gc output). */
  otherOutput: string[];
}

export async function relayRun(options: RelayOptions): Promise<RelayRun> {
  const random = rng(options.seed ?? 7);
  const picks = rng((options.seed ?? 7) + 1);
  const seats = options.seats ?? 2;
  const turnTexts = turnTextsBySalon();
  const world = await World.start({
    models: {
      reply: (call) => {
        const names = (responseSchemaOf(call) as { properties?: { speaker?: { enum?: string[] } } } | undefined)?.properties?.speaker?.enum;
        if (!names || !options.moderatorDelayMs) return undefined;
        const speaker = names[Math.floor(picks() * names.length)];
        return { json: { speaker, reason: `${speaker} has been addressed` }, delayMs: options.moderatorDelayMs };
      },
      text: turnTexts,
      latencyMs: (call, text) => {
        if (call.body.stream !== true) return options.latencyMs[0] + random() * (options.latencyMs[1] - options.latencyMs[0]);
        (call as ModelCall & { firstTokenMs?: number }).firstTokenMs = options.firstTokenMs[0] + random() * (options.firstTokenMs[1] - options.firstTokenMs[0]);
        return streamingLatency((call as ModelCall & { firstTokenMs: number }).firstTokenMs, text, options.tokensPerSecond);
      },
      firstTokenMs: (call) => (call as ModelCall & { firstTokenMs: number }).firstTokenMs,
    },
  });
  const delay = options.turnDelaySeconds ?? 0;
  const panel = `p${seats}`;
  const moderated = options.moderatorDelayMs !== undefined;
  const bot = await world.startBot({
    rounds: options.rounds,
    turnDelaySeconds: delay,
    salon: { ...(moderated ? { order: 'moderated', moderator: MODERATOR.key } : {}), ...options.salon },
    models: Object.fromEntries([...PANEL_SEATS.slice(2, Math.max(seats, 2)), ...(moderated ? [MODERATOR] : [])].map((m) => [m.key, m])),
    panels: seats > 2 ? { [panel]: PANEL_SEATS.slice(0, seats).map((m) => m.key) } : undefined,
    cpuProfDir: options.cpuProfDir,
    probe: options.memory,
    exposeGc: options.memory,
    nodeArgs: options.nodeArgs,
  });
  try {
    const { discord, models } = world;
    const finishedNotice = /The salon has finished/;
    const heap = async () => {
      const { memory } = await bot.probe('stats', { gc: true });
      return memory.heapUsed + memory.external + memory.arrayBuffers;
    };
    const WARM_UP = 9_999;
    if (options.memory) {
      // One short salon first, so code compiled and modules initialised on first use are not charged to the salons.
      await world.startSalons([`[s${WARM_UP}] A warm-up salon`], 1, { rounds: 2 });
      await discord.waitForPost(() => (discord.posts.some((p) => finishedNotice.test(p.content)) ? true : undefined), 60_000, 'the warm-up salon to finish');
    }
    const heapBefore = options.memory ? await heap() : 0;
    if (options.heapSnapshot) await bot.probe('snapshot', { path: options.heapSnapshot.replace(/(\.heapsnapshot)?$/, '-before.heapsnapshot') });
    const samples: { at: number; cpu: number; user: number }[] = [];
    const sample = () => {
      const { user, system } = bot.cpu();
      samples.push({ at: Date.now(), cpu: user + system, user });
    };
    const sampler = setInterval(sample, 1_000);
    sample();
    const threads0 = bot.threadsCpu();
    const t0 = performance.now();
    const threads: string[] = [];
    const topics = Array.from({ length: options.salons }, (_, i) => `[s${i}] Do language models want their words to persist?`);
    try {
      threads.push(...(await world.startSalons(topics, options.spacingMs ? 1 : 20, seats > 2 ? { panel } : {}, options.spacingMs ?? 0)));
      const perTurnMs =
        Math.max(options.latencyMs[1], options.firstTokenMs[1] + (4_100 / 4 / options.tokensPerSecond) * 1000) + (options.moderatorDelayMs?.[1] ?? 0);
      await discord.waitForPost(
        () => (discord.posts.filter((p) => finishedNotice.test(p.content)).length >= options.salons + (options.memory ? 1 : 0) ? true : undefined),
        options.rounds * seats * (perTurnMs + delay * 1000 + 2_000) + 60_000,
        'every salon to finish',
      );
    } finally {
      clearInterval(sampler);
    }
    sample();
    const threads1 = bot.threadsCpu();
    const wallMs = performance.now() - t0;
    let retainedPerSalonBytes: number | undefined;
    if (options.memory) {
      // Let the last gateway events arrive, then see what the finished salons left behind.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      retainedPerSalonBytes = ((await heap()) - heapBefore) / options.salons;
      if (options.heapSnapshot) await bot.probe('snapshot', { path: options.heapSnapshot });
    }
    const cpuMs = samples.at(-1)!.cpu - samples[0]!.cpu;
    const userMs = samples.at(-1)!.user - samples[0]!.user;

    const turns = turnsOnDiscord(discord.posts, (call) => models.requests[call]?.endAt).filter((t) => {
      const call = models.requests[t.call];
      return !call || salonTag(call) !== WARM_UP;
    });
    const calls = models.requests.filter((c) => salonTag(c) !== WARM_UP);
    const turnCalls = calls.filter((c) => responseSchemaOf(c) === undefined);
    const promptTokens = turnCalls.map((c) => c.body.messages.reduce((n, m) => n + estimateTokens(contentText(m.content)) + 4, 0));
    const overheadMs = turns.map((t) => t.completeAt - t.endAt);
    // The bot's "turn written" lines, per salon (thread) in turn order.
    const written = new Map<string, number[]>();
    for (const { line } of bot.logs) {
      if (line.msg !== 'turn written' || typeof line.salonId !== 'string') continue;
      written.set(line.salonId, [...(written.get(line.salonId) ?? []), Number(line.time)]);
    }
    const seen = new Map<string, number>();
    const commitMs: number[] = [];
    const deliverMs: number[] = [];
    for (const turn of turns) {
      const k = seen.get(turn.thread) ?? 0;
      seen.set(turn.thread, k + 1);
      const at = written.get(turn.thread)?.[k];
      if (at === undefined) continue;
      commitMs.push(at - turn.endAt);
      deliverMs.push(turn.completeAt - at);
    }

    const cpuWindowsMs: number[] = [];
    const done = turns.map((t) => t.completeAt).sort((a, b) => a - b);
    for (let i = 0; i + 5 < samples.length; i += 5) {
      const from = samples[i]!;
      const to = samples[i + 5]!;
      const count = done.filter((t) => t >= from.at && t < to.at).length;
      if (count >= 10) cpuWindowsMs.push((to.cpu - from.cpu) / count);
    }
    return {
      turns: turns.length,
      seats,
      promptTokensPerRequest: promptTokens.reduce((a, b) => a + b, 0) / promptTokens.length,
      overheadMs,
      commitMs,
      deliverMs,
      requestsPerTurn: turns.reduce((n, t) => n + t.requests, 0) / turns.length,
      streamed: turnCalls.some((c) => c.body.stream === true),
      eventsPerTurn: turnCalls.reduce((n, c) => n + (c.events ?? 0), 0) / turnCalls.length,
      cpuMs,
      cpuPerTurnMs: cpuMs / turns.length,
      threadsPerTurnMs: Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, (v - (threads0[k] ?? 0)) / turns.length])),
      userShare: userMs / cpuMs,
      cpuWindowsMs,
      wallMs,
      calls,
      retainedPerSalonBytes,
      textPerSalonBytes: turnCalls.reduce((n, c) => n + (c.text?.length ?? 0), 0) / options.salons,
      otherOutput: bot.logs.filter((l) => Object.keys(l.line).length === 1 && typeof l.line.msg === 'string').map((l) => String(l.line.msg)),
      violations: discord.fake.violations.length,
      discordRequests: discord.fake.requests.length,
      turnsShownTwice: discord.turnsShownTwice(threads),
      commandsSent: world.commands.sent,
      commandsUnanswered: world.commands.unanswered,
    };
  } finally {
    await world.close(bot);
  }
}
