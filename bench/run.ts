/**
 * `npm run bench`: salon's own cost, measured by running the real bot (compiled, in its own process) against the
 * repository's fake Discord and a local OpenAI-compatible server, and printed as one table: each figure with its
 * median and p95, its target and whether it is met, then the conditions and notes.
 *
 *   node --import tsx bench/run.ts [--quick] [--only 1,2,5] [--profile] [--markdown FILE] [--json FILE] [--no-build]
 *
 * --quick      smaller runs (about 4 minutes), for trying the bench itself; the figures are then rougher
 * --only       some figures (1–15; 12–15 are the web gallery's)
 * --profile    run the bot of figures 1, 2 and 5 under `node --cpu-prof` and print where its CPU time went
 * --markdown   also write the table and notes as Markdown
 * --json       also write every raw figure as JSON
 * --no-build   reuse bench/.build from the last run
 *
 * How each figure is measured is described at the top of its module in bench/figures/.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clusterFigure, GLOBAL_PER_SECOND, type ThroughputRun } from './figures/cluster.js';
import { moderatorComparison, seatsComparison, type PooledRuns } from './figures/panels.js';
import { relayRun, type RelayRun } from './figures/relay.js';
import { saveCosts } from './figures/save.js';
import { scaleRun } from './figures/scale.js';
import { singleRuns } from './figures/single.js';
import { startupRuns } from './figures/startup.js';
import { prefixStability, tokenFigure } from './figures/tokens.js';
import { transcriptRuns } from './figures/transcript.js';
import { liveRun } from './figures/web-live.js';
import { loadRun, pageRenderRuns, viewersRun } from './figures/web.js';
import { build, ROOT } from './lib/build.js';
import { conditions } from './lib/machine.js';
import { categoriseProfile, formatProfile } from './lib/profile.js';
import { fmt, fmtBytes, median, p95 } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    markdown: { type: 'string' },
    json: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});

const quick = args.quick;
const wanted = new Set((args.only ?? '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15').split(',').map((s) => s.trim()));
const PROFILE_DIR = join(ROOT, 'bench/.profiles');

interface Row {
  id: string;
  figure: string;
  median: string;
  p95: string;
  target: string;
  met?: boolean;
}

const rows: Row[] = [];
const notes: string[] = [];
const raw: Record<string, unknown> = {};
const log = (line: string) => process.stderr.write(`${line}\n`);

const ms = (v: number) => `${fmt(v)} ms`;
const kb = (v: number) => `${fmt(v / 1024)} KB`;

function profileDir(name: string): string | undefined {
  if (!args.profile) return undefined;
  const dir = join(PROFILE_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function reportProfile(dir: string | undefined, turns: number, skipMs: number): void {
  if (!dir) return;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const path = join(dir, file);
    const { busyMs, categories } = categoriseProfile(path, skipMs);
    const lines = [`CPU profile ${path} (main thread, after the first ${skipMs} ms): ${fmt(busyMs)} ms busy, ${fmt(busyMs / turns)} ms per turn`];
    for (const [name, value] of [...categories].sort((a, b) => b[1] - a[1])) lines.push(`  ${fmt(value / turns).padStart(7)} ms/turn  ${name}`);
    log(lines.join('\n'));
    log(formatProfile(path, ROOT, 30, skipMs));
  }
}

async function figure(id: string, name: string, run: () => Promise<void> | void): Promise<void> {
  if (!wanted.has(id)) return;
  const started = performance.now();
  log(`bench: figure ${id}: ${name}…`);
  try {
    await run();
  } catch (err) {
    rows.push({ id, figure: name, median: 'error', p95: '', target: '', met: false });
    notes.push(`Figure ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  log(`bench: figure ${id} took ${fmt((performance.now() - started) / 1000)} s`);
}

/** What Discord users see of the exactly-once promise: each turn on one set of messages, each command answered. */
function exactlyOnceRows(id: string, label: string, run: { turnsShownTwice: number; commandsUnanswered: number; commandsSent: number }): void {
  rows.push({
    id,
    figure: `Turns shown on more than one message (${label})`,
    median: String(run.turnsShownTwice),
    p95: '(count)',
    target: '0',
    met: run.turnsShownTwice === 0,
  });
  rows.push({
    id,
    figure: `Commands unanswered within 3 s (${label}; ${run.commandsSent} sent)`,
    median: String(run.commandsUnanswered),
    p95: '(count)',
    target: '0',
    met: run.commandsUnanswered === 0,
  });
}

function relayNotes(tag: string, run: RelayRun): void {
  const stable = prefixStability(run.calls);
  notes.push(
    `${tag}: ${run.turns} turns in ${fmt(run.wallMs / 1000)} s; ${run.streamed ? `streamed replies, ${fmt(run.eventsPerTurn)} SSE events a turn` : 'whole replies'}; ` +
      `${fmt(run.requestsPerTurn)} Discord requests (posts and edits) showed each turn; ${run.discordRequests} requests to the fake Discord in all, ${run.violations} violations. ` +
      `Overhead split at the bot's "turn written" log line (ms clock): model end → commit saved median ${ms(median(run.commitMs))} / p95 ${ms(p95(run.commitMs))}; ` +
      `commit → Discord median ${ms(median(run.deliverMs))} / p95 ${ms(p95(run.deliverMs))}. CPU ${fmt(run.cpuMs)} ms (${Math.round(run.userShare * 100)}% user), ${fmt(run.cpuPerTurnMs)} ms a turn over the whole run: ` +
      Object.entries(run.threadsPerTurnMs)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${ms(v)}`)
        .join(', ') +
      '. ' +
      `Prompt prefix: in ${stable.stable} of ${stable.pairs} consecutive requests of one seat, everything before the previous request's last message was unchanged` +
      (stable.diverged.length > 0 ? ` (the others diverged at message ${[...new Set(stable.diverged)].slice(0, 8).join(', ')}: history trimming)` : '') +
      `; ${Math.round(stable.cacheableShare * 100)}% of the prompt characters sat in that prefix.`,
  );
}

/** Figures 10 and 11: quick models, so each run takes seconds; the salon's own costs per turn do not depend on it. */
const PANEL_MODELS = { firstTokenMs: [100, 200] as [number, number], tokensPerSecond: 4_000, latencyMs: [200, 400] as [number, number], spacingMs: 150 };
const panelModelsText = `replies streamed (first token ${PANEL_MODELS.firstTokenMs.join('–')} ms, then ${fmt(PANEL_MODELS.tokensPerSecond)} tokens/s)`;

async function main(): Promise<void> {
  const cond = conditions();
  log(`bench: salon, ${cond.date}, node ${cond.node}, ${cond.cpu} × ${cond.cores}${quick ? ', --quick' : ''}`);
  if (!args['no-build']) log(`bench: built the bot into bench/.build in ${fmt(build() / 1000)} s`);

  await figure('6', 'Transcript render, 1,000-turn salon', () => {
    const r = transcriptRuns(quick ? 20 : 50);
    raw.transcript = r;
    rows.push({
      id: '6',
      figure: `Transcript render, ${r.turns} turns (${fmtBytes(r.bytes)} of Markdown)`,
      median: ms(median(r.ms)),
      p95: ms(p95(r.ms)),
      target: '≤ 20 ms',
      met: p95(r.ms) <= 20,
    });
  });

  await figure('7', 'Prompt tokens per salon', () => {
    for (const rounds of [5, 20, 50]) {
      const t = tokenFigure(rounds);
      raw[`tokens${rounds}`] = t;
      if (rounds === 50) {
        notes.push(
          `7 (50 rounds, the maximum): sent ${fmt(t.sent)} estimated tokens vs naive ${fmt(t.naive)}; ${t.trimmedRequests} of ${t.requests} requests were trimmed to the 32k context, and each trimmed request changes the start of the history (the marker's count and the first turn kept), so only ${t.stablePrefixRequests} of ${t.requests - 2} requests keep the previous prefix: cacheable ${Math.round((100 * t.cacheable) / t.sent)}%, billed with caching ${Math.round((100 * t.billedWithCache) / t.naive)}% of naive.`,
        );
        continue;
      }
      rows.push({
        id: '7',
        figure: `Prompt tokens, ${rounds}-round salon (sent / naive; billed with caching)`,
        median: `${fmt(t.sent)} / ${fmt(t.naive)}`,
        p95: `${fmt(t.billedWithCache)} (${Math.round((100 * t.billedWithCache) / t.naive)}%)`,
        target: 'report',
      });
      notes.push(
        `7 (${rounds} rounds): ${t.requests} requests; salon resends the whole history each turn (sent = naive until the context budget is reached). ` +
          `${Math.round((100 * t.cacheable) / t.sent)}% of the tokens sent are a prefix identical to the same seat's previous request (system prompt + every message before the previous request's last one, which carried the round note), in ${t.stablePrefixRequests} of ${t.requests - 2} repeat requests. ` +
          `With the product's cache breakpoints (src/models/prompt-cache.ts: the system prompt and the seat's own last turn), Anthropic would bill ${fmt(t.billedWithCache)} token-equivalents (cache reads 0.1×, writes 1.25×), ${Math.round((100 * t.billedWithCache) / t.naive)}% of naive.`,
      );
    }
    // Panels: the cached share of the prompt tokens, per seat, of a 4-seat round-robin salon beside a 2-seat one.
    const [two, four] = [2, 4].map((seats) => tokenFigure(10, { seats }));
    raw.tokensSeats = { two, four };
    const pct = (part: number, whole: number) => `${Math.round((100 * part) / whole)}%`;
    const bySeat = four!.perSeat.map((p) => p.cacheable / p.sent);
    rows.push({
      id: '7',
      figure: 'Cached share of prompt tokens (cacheable prefix ÷ sent), 10-round salon: 4 seats round-robin (2 seats); p95 column: range by seat',
      median: `${pct(four!.cacheable, four!.sent)} (${pct(two!.cacheable, two!.sent)})`,
      p95: `${pct(Math.min(...bySeat), 1)}–${pct(Math.max(...bySeat), 1)} by seat`,
      target: 'report',
    });
    notes.push(
      `7 (panels, 10 rounds, round-robin): 4 seats, ${four!.requests} requests, ${fmt(four!.sent)} tokens sent (${fmt(four!.sent / four!.requests)} a request; ${four!.trimmedRequests} trimmed), ` +
        `${fmt(four!.cacheable)} cacheable: ${pct(four!.cacheable, four!.sent)} overall; by seat ` +
        four!.perSeat.map((p) => `${p.name} ${pct(p.cacheable, p.sent)}`).join(', ') +
        `; billed with caching ${pct(four!.billedWithCache, four!.naive)} of naive. ` +
        `2 seats: ${two!.requests} requests, ${fmt(two!.sent)} tokens (${fmt(two!.sent / two!.requests)} a request; ${two!.trimmedRequests} trimmed), ${pct(two!.cacheable, two!.sent)} cacheable (` +
        two!.perSeat.map((p) => `${p.name} ${pct(p.cacheable, p.sent)}`).join(', ') +
        `), billed ${pct(two!.billedWithCache, two!.naive)} of naive. ` +
        "A seat's cache ends at its own last turn (the breakpoint), so what the others said since is read uncached: 2·(seats − 1) + 1 turns a request, 3 with 2 seats, 7 with 4; " +
        `in ${four!.stablePrefixRequests} of ${four!.requests - 4} repeat requests the prefix before the seat's previous last message was unchanged.`,
    );
  });

  await figure('10', 'Panels: CPU per turn and relay overhead, 6 seats vs 2', async () => {
    const r = await seatsComparison({
      salons: quick ? 2 : 3,
      turnsPerSalon: quick ? 6 : 12,
      ...PANEL_MODELS,
    });
    raw.panels = r;
    const bound = Math.max(1, r.promptTokensRatio) * 1.15;
    const label = `${r.two.turns} / ${r.six.turns} turns, ${quick ? 2 : 3} salons × ${r.turnsPerSalon} turns × 2 runs a side`;
    rows.push({
      id: '10',
      figure: `CPU per turn, 6 seats ÷ 2 seats (round-robin, ${label}; whole run)`,
      median: `${fmt(r.cpuPerTurnRatio)} (${ms(r.six.cpuPerTurnMs)} / ${ms(r.two.cpuPerTurnMs)})`,
      p95: '(1 run)',
      target: `≤ prompt ratio ${fmt(r.promptTokensRatio)} (+15% noise)`,
      met: r.cpuPerTurnRatio <= bound,
    });
    rows.push({
      id: '10',
      figure: `Relay overhead, 6 seats ÷ 2 seats (${label})`,
      median: `${fmt(r.overheadP50Ratio)} (${ms(median(r.six.overheadMs))} / ${ms(median(r.two.overheadMs))})`,
      p95: `${fmt(r.overheadP95Ratio)} (${ms(p95(r.six.overheadMs))} / ${ms(p95(r.two.overheadMs))})`,
      target: `≤ prompt ratio ${fmt(r.promptTokensRatio)} (+15% noise)`,
      met: r.overheadP50Ratio <= bound && r.overheadP95Ratio <= bound,
    });
    const side = (name: string, run: PooledRuns) =>
      `${name}: ${run.turns} turns in ${fmt(run.wallMs / 1000)} s, ${fmt(run.promptTokensPerRequest)} prompt tokens a request (estimate), ${fmt(run.requestsPerTurn)} Discord requests a turn, ` +
      `CPU ${ms(run.cpuPerTurnMs)} a turn (` +
      Object.entries(run.threadsPerTurnMs)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${ms(v)}`)
        .join(', ') +
      `), overhead p50 ${ms(median(run.overheadMs))} / p95 ${ms(p95(run.overheadMs))}, split at "turn written": model end → commit saved p50 ${ms(median(run.commitMs))} / p95 ${ms(p95(run.commitMs))}, commit → Discord p50 ${ms(median(run.deliverMs))} / p95 ${ms(p95(run.deliverMs))}`;
    notes.push(
      `10: salons with 2 seats × ${r.turnsPerSalon / 2} rounds and round-robin panels of 6 distinct models × ${r.turnsPerSalon / 6} rounds, so each salon takes ${r.turnsPerSalon} turns either way and each request carries about as much history; ` +
        `four runs of ${quick ? 2 : 3} salons, each a fresh bot, in the order 2, 6, 6, 2 seats, each side's samples pooled (a load drifting over the run falls on both alike); ` +
        `${panelModelsText}, salons started ${PANEL_MODELS.spacingMs} ms apart, delay 0. Prompt tokens per request 6 ÷ 2: ${fmt(r.promptTokensRatio)}. ` +
        `${side('2 seats', r.two)}; ${side('6 seats', r.six)}. Turns shown twice: ${r.two.turnsShownTwice} / ${r.six.turnsShownTwice}; commands unanswered: ${r.two.commandsUnanswered} / ${r.six.commandsUnanswered}.`,
    );
  });

  await figure('11', "Panels: the moderator's added latency per turn", async () => {
    const delay: [number, number] = [300, 600];
    const r = await moderatorComparison({
      salons: quick ? 2 : 3,
      seats: 4,
      rounds: quick ? 2 : 3,
      moderatorDelayMs: delay,
      ...PANEL_MODELS,
    });
    raw.moderator = r;
    const rr = r.roundRobin;
    const mod = r.moderated;
    const what = `${r.seats} seats × ${r.rounds} rounds, ${quick ? 2 : 3} salons × 2 runs a side; moderator answering in ${delay[0]}–${delay[1]} ms (fake, seeded)`;
    rows.push({
      id: '11',
      figure: `Moderated turn: previous reply's last byte → the turn's model request (${what}); round-robin in brackets`,
      median: `${ms(median(mod.askedMs))} (${ms(median(rr.plainMs))})`,
      p95: `${ms(p95(mod.askedMs))} (${ms(p95(rr.plainMs))})`,
      target: 'report',
    });
    rows.push({
      id: '11',
      figure: "Moderated turn: the same beyond the moderator call's own latency; round-robin's whole gap in brackets",
      median: `${ms(median(mod.beyondModeratorMs))} (${ms(median(rr.plainMs))})`,
      p95: `${ms(p95(mod.beyondModeratorMs))} (${ms(p95(rr.plainMs))})`,
      target: 'report',
    });
    notes.push(
      `11: a 4-seat panel round-robin and moderated, four runs of ${quick ? 2 : 3} salons in the order round-robin, moderated, moderated, round-robin, each side pooled; ${panelModelsText}, delay 0, so a turn is due once the previous one is committed. ` +
        `The moderator (structured output) answered ${mod.moderatorCalls} picks with a valid name after a delay drawn from ${delay[0]}–${delay[1]} ms; at the server its calls took median ${ms(median(mod.moderatorMs))} / p95 ${ms(p95(mod.moderatorMs))}. ` +
        `Gaps (previous reply's last byte → next turn's request): moderated, ${mod.askedMs.length} turns that asked, median ${ms(median(mod.askedMs))} / p95 ${ms(p95(mod.askedMs))}; ` +
        `moderated, ${mod.plainMs.length} turns of the last seat left (no call), median ${ms(median(mod.plainMs))}; round-robin, ${rr.plainMs.length} turns, median ${ms(median(rr.plainMs))} / p95 ${ms(p95(rr.plainMs))}. ` +
        `Added per turn on average (every turn after a salon's first): ${ms(r.extraPerTurnMs)}. Salon wall time ${fmt(rr.run.wallMs / 1000)} s round-robin, ${fmt(mod.run.wallMs / 1000)} s moderated; ` +
        `CPU per turn ${ms(rr.run.cpuPerTurnMs)} round-robin, ${ms(mod.run.cpuPerTurnMs)} moderated (the moderator's calls included).`,
    );
  });

  await figure('1', 'Relay overhead per turn', async () => {
    const dir = profileDir('relay');
    const run = quick
      ? await relayRun({
          salons: 5,
          rounds: 20,
          firstTokenMs: [300, 700],
          tokensPerSecond: 1_000,
          latencyMs: [800, 1_200],
          spacingMs: 150,
          cpuProfDir: dir,
          memory: true,
        })
      : await relayRun({
          salons: 10,
          rounds: 50,
          firstTokenMs: [300, 700],
          tokensPerSecond: 1_000,
          latencyMs: [800, 1_200],
          spacingMs: 150,
          cpuProfDir: dir,
          memory: true,
        });
    raw.relay = { ...run, calls: run.calls.length };
    rows.push({
      id: '1',
      figure: `Relay overhead: model's last byte → Discord, ${run.turns} turns (${quick ? 5 : 10} salons at once)`,
      median: ms(median(run.overheadMs)),
      p95: ms(p95(run.overheadMs)),
      target: 'p95 ≤ 10 ms',
      met: p95(run.overheadMs) <= 10,
    });
    relayNotes('1', run);
    exactlyOnceRows('1', `${run.turns} turns, streamed`, run);
    if (run.retainedPerSalonBytes !== undefined) {
      notes.push(
        `1 (memory): after all ${quick ? 5 : 10} salons had finished (${fmt(run.turns / (quick ? 5 : 10))} turns each), the bot still held ${kb(run.retainedPerSalonBytes)} of heap per salon (after a full GC, against before they started), for ${kb(run.textPerSalonBytes ?? 0)} of model text per salon.`,
      );
    }
    reportProfile(dir, run.turns, 3_000);
    const costs = await saveCosts([10, 400]);
    raw.saveCosts = costs;
    notes.push(
      `1 (store): one saved change of a salon (the engine's head copy + a conditional save that writes the head and the turn it touched, medians, in the bench process): ` +
        costs.map((c) => `${c.store} at ${c.turns} turns (${fmtBytes(c.recordBytes)}): copy ${ms(c.cloneMs)} + save ${ms(c.saveMs)}`).join('; ') +
        '. A turn makes at least four such changes (started, commit, each posted part, delivered), plus one per new draft message when streaming.',
    );
  });

  await figure('2', 'CPU per turn at 100 concurrent salons', async () => {
    const dir = profileDir('cpu');
    const salons = quick ? 30 : 100;
    const streamed = await relayRun({
      salons,
      rounds: quick ? 2 : 3,
      firstTokenMs: [500, 1500],
      tokensPerSecond: 100,
      latencyMs: [5_500, 6_500],
      cpuProfDir: dir,
      turnDelaySeconds: 7,
    });
    raw.cpu = { ...streamed, calls: streamed.calls.length };
    rows.push({
      id: '2',
      figure: `CPU per turn, ${salons} salons × ${quick ? 2 : 3} rounds, delay 7 s, product defaults (${streamed.streamed ? 'streaming' : 'whole replies'}); 5-s windows`,
      median: ms(median(streamed.cpuWindowsMs)),
      p95: ms(p95(streamed.cpuWindowsMs)),
      target: '≤ 2 ms',
      met: streamed.cpuPerTurnMs <= 2,
    });
    relayNotes('2', streamed);
    exactlyOnceRows('2', `${streamed.turns} turns, streamed`, streamed);
    reportProfile(dir, streamed.turns, 3_000);
    try {
      const wholeDir = profileDir('cpu-whole');
      const whole = await relayRun({
        salons,
        rounds: quick ? 2 : 5,
        firstTokenMs: [500, 1500],
        tokensPerSecond: 100,
        latencyMs: [1_000, 3_000],
        turnDelaySeconds: 2,
        salon: { stream: false },
        cpuProfDir: wholeDir,
      });
      raw.cpuWhole = { ...whole, calls: whole.calls.length };
      rows.push({
        id: '2',
        figure: `CPU per turn, ${salons} salons × ${quick ? 2 : 5} rounds, delay 2 s, \`stream: false\`; 5-s windows`,
        median: ms(median(whole.cpuWindowsMs)),
        p95: ms(p95(whole.cpuWindowsMs)),
        target: '≤ 2 ms',
        met: whole.cpuPerTurnMs <= 2,
      });
      relayNotes('2 (stream: false)', whole);
      exactlyOnceRows('2', `${whole.turns} turns, \`stream: false\``, whole);
      reportProfile(wholeDir, whole.turns, 3_000);
    } catch (err) {
      notes.push(`2 (stream: false) could not run (has salon.stream changed?): ${(err as Error).message}`);
    }
  });

  await figure('8', 'Exactly once under a burst', async () => {
    // The timing that showed turns twice before the fix: 100 salons at once, no delay, replies streaming within 50 ms.
    for (const stream of [true, false]) {
      const run = await relayRun({ salons: quick ? 50 : 100, rounds: 3, firstTokenMs: [0, 50], tokensPerSecond: 2_000, latencyMs: [0, 50], salon: { stream } });
      raw[stream ? 'burst' : 'burstWhole'] = { ...run, calls: run.calls.length };
      exactlyOnceRows('8', `${run.turns} turns, ${quick ? 50 : 100} salons, delay 0, ${stream ? 'streamed' : '`stream: false`'}`, run);
      notes.push(
        `8 (${stream ? 'streamed' : 'stream: false'}): relay overhead median ${ms(median(run.overheadMs))} / p95 ${ms(p95(run.overheadMs))}; ${fmt(run.requestsPerTurn)} Discord requests showed each turn.`,
      );
    }
  });

  await figure('3', 'Single salon wall time vs ideal', async () => {
    const runs = await singleRuns({ runs: quick ? 3 : 8, rounds: 5, latencyMs: 200 });
    raw.single = runs;
    const ratios = runs.map((r) => r.ratio);
    rows.push({
      id: '3',
      figure: '5-round salon, 200 ms model latency, delay 0: wall ÷ Σ model latency',
      median: fmt(median(ratios), 4),
      p95: fmt(p95(ratios), 4),
      target: '≤ 1.02',
      met: p95(ratios) <= 1.02,
    });
    notes.push(
      `3: ${runs.length} salons after one warm-up; wall median ${ms(median(runs.map((r) => r.wallMs)))} for Σ latency ${ms(median(runs.map((r) => r.idealMs)))}. ` +
        `Where the rest goes (medians): interaction → first model request ${ms(median(runs.map((r) => r.startMs)))}; the 9 gaps between a reply's last byte and the next request ${ms(median(runs.map((r) => r.betweenMs)))} in all; last reply → last turn complete on Discord ${ms(median(runs.map((r) => r.tailMs)))}.`,
    );
  });

  await figure('4', '1,000 concurrent salons', async () => {
    const r = quick
      ? await scaleRun({
          salons: 200,
          rounds: 5,
          turnsDone: 2,
          turnDelaySeconds: 60,
          spreadSeconds: 60,
          firstTokenMs: [500, 1500],
          tokensPerSecond: 100,
          windowSeconds: 15,
          memorySamples: 2,
        })
      : await scaleRun({
          salons: 1_000,
          rounds: 5,
          turnsDone: 2,
          turnDelaySeconds: 60,
          spreadSeconds: 60,
          firstTokenMs: [500, 1500],
          tokensPerSecond: 100,
          windowSeconds: 30,
          memorySamples: 3,
        });
    raw.scale = r;
    rows.push({ id: '4', figure: `Peak RSS, ${r.salons} salons`, median: fmtBytes(r.peakRssBytes), p95: '(1 run)', target: '—' });
    rows.push({
      id: '4',
      figure: 'Memory per active salon beyond its text (heap after GC)',
      median: kb(median(r.perSalonBytes)),
      p95: kb(p95(r.perSalonBytes)),
      target: '≤ 64 KB',
      met: p95(r.perSalonBytes) <= 64 * 1024,
    });
    exactlyOnceRows('4', `${r.turnsInWindow} turns, streamed; /salon status sent as the gateway came up`, { ...r, commandsSent: r.commandsAtConnect });
    rows.push({ id: '4', figure: 'Event-loop delay p99 (over the window)', median: ms(r.eldP99Ms), p95: '(1 run)', target: '≤ 20 ms', met: r.eldP99Ms <= 20 });
    notes.push(
      `4: ${r.salons} salons resumed from the store (2 turns each already), delay 60 s, next turns spread over the first 60 s, replies streamed at 100 tokens/s; window ${quick ? 15 : 30} s: ${r.turnsInWindow} turns, ${fmt(r.discordRequestsPerSecond)} Discord requests/s. ` +
        `Text held ${fmtBytes(r.textPerSalonBytes)} a salon; idle bot (no salon) ${fmtBytes(r.baselineHeapBytes)} heap, ${fmtBytes(r.baselineRssBytes)} RSS; with the salons RSS ${fmtBytes(r.rssBytes)}, i.e. ${kb(r.perSalonRssBytes)} a salon beyond its text by RSS. ` +
        `Event-loop delay p50 ${ms(r.eldP50Ms)}, max ${ms(r.eldMaxMs)} (10 ms monitor resolution subtracted; ${r.modelCallsInFlight} model calls were in flight at the last memory sample).`,
    );
  });

  await figure('5', 'Start-up with 100,000 stored salons', async () => {
    const dir = profileDir('startup');
    const r = await startupRuns({ stored: 100_000, unfinished: 1_000, runs: quick ? 2 : 5, cpuProfDir: dir });
    raw.startup = r;
    const all = r.runs.map((x) => x.readyToAllResumedMs);
    const engine = r.runs.map((x) => x.readyToEngineMs);
    rows.push({
      id: '5',
      figure: 'Start-up: gateway ready → every unfinished salon (1,000 of 100,000) has sent its next model request',
      median: ms(median(all)),
      p95: ms(p95(all)),
      target: '≤ 1 s',
      met: p95(all) <= 1_000,
    });
    rows.push({
      id: '5',
      figure: "Start-up: gateway ready → the engine's `engine started` (all loaded and scheduled)",
      median: ms(median(engine)),
      p95: ms(p95(engine)),
      target: '≤ 1 s',
      met: p95(engine) <= 1_000,
    });
    notes.push(
      `5: ${r.runs.length} runs; process spawn → gateway ready median ${ms(median(r.runs.map((x) => x.spawnToReadyMs)))} (module loading, store open, discord.js login and READY); resumed per the engine's log: ${r.runs.map((x) => x.resumed).join(', ')}.` +
        (r.seededMs ? ` Writing the 99,000 finished salons took ${fmt(r.seededMs / 1000)} s (cached in bench/.cache for later runs).` : ''),
    );
    reportProfile(dir, 1_000, 450);
  });

  await figure('9', 'A cluster: throughput behind one proxy, and fail-over', async () => {
    const salons = quick ? 300 : 1_000;
    const leaseMs = quick ? 6_000 : 10_000;
    const r = await clusterFigure(
      {
        salons,
        guilds: 10,
        runs: quick
          ? [
              { workers: 1, stream: false },
              { workers: 4, stream: false },
            ]
          : [
              { workers: 1, stream: false },
              { workers: 2, stream: false },
              { workers: 4, stream: false },
              { workers: 4, stream: true },
            ],
        // A window in the steady state: past the start-up, long before the queue of due salons runs dry.
        from: 0.1,
        to: quick ? 0.6 : 0.3,
        capSeconds: 150,
        failover: { salons: quick ? 10 : 20, leaseMs, spreadMs: leaseMs / 3 },
      },
      log,
    );
    raw.cluster = r;
    for (const t of r.throughput) clusterRows(t);
    const f = r.failover;
    const bound = (f.leaseMs * 4) / 3 + 1_000;
    rows.push({
      id: '9',
      figure: `Fail-over: a worker killed (SIGKILL) mid-turn on ${f.salons} salons → each turn's model request again, from the other worker (SALON_LEASE_MS = ${fmt(f.leaseMs / 1000)} s)`,
      median: ms(median(f.resumedMs)),
      p95: ms(p95(f.resumedMs)),
      target: `≤ ${fmt(bound / 1000)} s (lease × 4/3 + 1 s)`,
      met: f.missing === 0 && p95(f.resumedMs) <= bound,
    });
    rows.push({
      id: '9',
      figure: 'Fail-over: kill → the cut-off turn shown on Discord',
      median: ms(median(f.postedMs)),
      p95: ms(p95(f.postedMs)),
      target: 'report',
    });
    const twice = r.throughput.reduce((n, t) => n + t.turnsShownTwice, f.turnsShownTwice);
    rows.push({
      id: '9',
      figure: 'Turns shown on more than one message (every figure-9 run, fail-over included)',
      median: String(twice),
      p95: '(count)',
      target: '0',
      met: twice === 0,
    });
    notes.push(
      `9 (fail-over): ${f.salons} salons, one round, stream: false; the first worker took them all, their model requests held open by the model server, their leases taken over ${fmt(f.spreadMs)} ms (a third of the lease, so their renewals fall at every phase of the kill); then a second worker started and the first was killed. ` +
        `Resumed (model request again) min ${ms(Math.min(...f.resumedMs))}, max ${ms(Math.max(...f.resumedMs))}${f.missing ? `; ${f.missing} never resumed` : ''}. ` +
        `The expected bound: the killed worker's job locks (lockDuration = the lease, renewed every half of it) run out within one lease of the kill, the other worker's stalled-job check (every third of the lease) puts the jobs back, and the salon's own lease in the record (renewed every third, counted with 1 s of clock skew) has run out by then or is waited out: at most about lease + lease/3 (+ 1 s), i.e. the README's "SALON_LEASE_MS × 1.4"; with the default lease of 30 s, about 41 s. ` +
        `Kill → shown on Discord adds the new worker's cold start on Discord (each guild, the bot's member, the channel, the thread) behind the same 50/s. ${problemsText(f.problems)}`,
    );
    notes.push(
      '9 (store): what one saved change costs as a salon grows (turn 10 vs turn 400, on SQLite, PostgreSQL and Redis) is measured by bench/figures/save.ts and reported in the notes of figure 1 ("1 (store)"); it is not repeated here.',
    );
  });

  await figure('12', 'Web: the page of a 1,000-turn salon', async () => {
    const r = await pageRenderRuns(quick ? 8 : 15);
    raw.webPage = r;
    rows.push({
      id: '12',
      figure: `Web page render, ${fmt(r.turns)} turns of 150–400 words with markdown (${fmtBytes(r.bytes)} of HTML): \`renderSalonPage\`, in-process`,
      median: ms(median(r.renderMs)),
      p95: ms(p95(r.renderMs)),
      target: 'report',
    });
    rows.push({
      id: '12',
      figure: `Web page, the same salon: GET /s/<token> from the gallery over SQLite, request → last byte (${fmtBytes(r.httpBytes)})`,
      median: ms(median(r.httpMs)),
      p95: ms(p95(r.httpMs)),
      target: 'report',
    });
    notes.push(
      `12: ${r.renderMs.length} renders and ${r.httpMs.length} requests (one at a time, one keep-alive connection), each after two warm-ups; the gallery in its own process (bench/web-server.ts), the salon written with the project's store code and shared. ` +
        `\`renderTurnHtml\` of the 1,000th turn alone: median ${ms(median(r.turnHtmlMs))} (the live stream renders a new turn this way, once for every viewer).`,
    );
  });

  await figure('13', 'Web: live latency, Discord draft → the page in a browser', async () => {
    const salons = quick ? 2 : 4;
    const r = await liveRun({ salons, rounds: 2, firstTokenMs: [300, 600], tokensPerSecond: 150 });
    raw.webLive = r;
    const drafts = r.samples.filter((s) => s.draft).map((s) => s.ms);
    const finals = r.samples.filter((s) => !s.draft).map((s) => s.ms);
    rows.push({
      id: '13',
      figure: `Live page: a draft's request at Discord → the same text in the browser's page (${drafts.length} draft requests, ${r.turns} streamed turns, ${salons} shared salons, Chromium)`,
      median: ms(median(drafts)),
      p95: ms(p95(drafts)),
      target: '≤ 1 s',
      met: r.unmatched === 0 && drafts.length > 0 && p95(drafts) <= 1_000,
    });
    rows.push({
      id: '13',
      figure: `Live page: the finishing request at Discord → the finished turn in the page (${finals.length} requests)`,
      median: ms(median(finals)),
      p95: ms(p95(finals)),
      target: '≤ 1 s',
      met: r.unmatched === 0 && finals.length > 0 && p95(finals) <= 1_000,
    });
    const offsets = r.clocks.map((c) => c.offsetMs);
    notes.push(
      `13: ${salons} salons × 2 rounds, replies streamed at ${fmt(150)} tokens/s (first token 300–600 ms), turns of 815–3,637 characters; the bot in its own process serving the gallery (SALON_WEB_PORT=0), each salon shared by \`/salon share\`, one Chromium page per link under the page's own CSP. ` +
        `${fmt(r.draftRequestsPerTurn)} draft requests a turn (the first post and the edits, 1.5 s apart at most); the slowest draft ${ms(Math.max(...drafts))}, the slowest finished turn ${ms(Math.max(...finals))}; ` +
        `${r.samples.filter((s) => s.shownFinished).length} drafts first shown in the finished turn; ${r.unmatched} turn requests never seen in a page. ` +
        `Browser clock − bench clock: ${offsets.map((o) => ms(o)).join(', ')} (round trips ${r.clocks.map((c) => ms(c.rttMs)).join(', ')}), subtracted. ${fmt(r.wallMs / 1000)} s from the first command to the last page change.`,
    );
  });

  await figure('14', 'Web: 1,000 live viewers of one salon', async () => {
    const r = await viewersRun(1_000, 3, 20);
    const big = await viewersRun(1_000, 2, 1_000);
    raw.webViewers = { small: r, large: big };
    rows.push({
      id: '14',
      figure: `Memory per open live viewer, ${fmt(r.viewers)} SSE connections to one salon (gallery heap after GC; RSS in brackets)`,
      median: `${kb(r.heapPerViewerBytes)} (${kb(r.rssPerViewerBytes)})`,
      p95: '(1 run)',
      target: 'report',
    });
    for (const run of [r, big]) {
      const arrivals = run.arrivalMs.flat();
      rows.push({
        id: '14',
        figure: `A published turn → each of the ${fmt(run.viewers)} viewers, ${fmt(run.salonTurns)}-turn salon (${run.arrivalMs.length} turns, arrivals pooled)`,
        median: ms(median(arrivals)),
        p95: ms(p95(arrivals)),
        target: 'report',
      });
    }
    const perTurn = (run: typeof r) =>
      run.arrivalMs.map((a, i) => `p50 ${ms(median(a))} / p95 ${ms(p95(a))} / max ${ms(Math.max(...a))}, gallery CPU ${ms(run.fanOutCpuMs[i]!)}`).join('; ');
    notes.push(
      `14: the gallery in its own process (--expose-gc), a running 20-turn salon; heap (used + external + array buffers) ${fmtBytes(r.heapBeforeBytes)} → ${fmtBytes(r.heapAfterBytes)}, RSS ${fmtBytes(r.rssBeforeBytes)} → ${fmtBytes(r.rssAfterBytes)}, from 1 viewer to ${fmt(r.viewers)}; connecting them took ${fmt(r.connectMs / 1000)} s. ` +
        `Each published turn, publish → each viewer's read of it: ${perTurn(r)}. ` +
        `With a 1,000-turn salon (${kb(big.heapPerViewerBytes)} heap a viewer): ${perTurn(big)}; the watch renders the new turn once and writes the same bytes to every viewer, so the fan-out should not grow with the salon. ` +
        `The clients are the bench process, reading 1,000 sockets in turn; the gallery's clock lined up with the bench's to ±${ms(r.clock.rttMs / 2)}.`,
    );
  });

  await figure('15', 'Web: requests per second on the page', async () => {
    const r = await loadRun(32, quick ? 5 : 10);
    raw.webLoad = { ...r, latencyMs: undefined };
    rows.push({
      id: '15',
      figure: `GET /s/<token>, 50-turn salon (${fmtBytes(r.bytes)}), ${r.concurrency} keep-alive clients for ${fmt(r.seconds)} s: req/s (latency p50 / p95 in the p95 column)`,
      median: `${fmt(r.perSecond)} req/s`,
      p95: `${ms(median(r.latencyMs))} / ${ms(p95(r.latencyMs))}`,
      target: 'report',
    });
    notes.push(
      `15: ${fmt(r.requests)} requests, ${r.failed} failed; the per-IP limit raised to ${fmt(r.requestsPerMinute)} a minute for this figure (the default, 300 a minute per address, would answer 429 after the first 300). ` +
        `The gallery (one process, one event loop) used ${Math.round(r.serverCores * 100)}% of a core, ${ms(r.serverCpuPerRequestMs)} of CPU a request; the clients ${Math.round(r.clientCores * 100)}% of a core.`,
    );
  });

  printTable(cond);
}

function problemsText(problems: Record<string, number>): string {
  const list = Object.entries(problems);
  return list.length === 0 ? 'No warning or error in the logs.' : `Logged: ${list.map(([k, n]) => `${n}× ${k}`).join('; ')}.`;
}

/** Figure 9's rows and notes for one throughput run. */
function clusterRows(t: ThroughputRun): void {
  const label = `${t.workers} worker${t.workers > 1 ? 's' : ''}${t.stream ? ', streamed' : ', `stream: false`'}`;
  rows.push({
    id: '9',
    figure: `Cluster, ${fmt(t.salons)} salons due at once, ${label}, one proxy: turns/s (Discord requests/s, share of the ${GLOBAL_PER_SECOND}/s global limit)`,
    median: `${fmt(t.turnsPerSecond)} turns/s (${fmt(t.requestsPerSecond)}/s, ${Math.round(t.globalShare * 100)}%)`,
    p95: `(${fmt(t.windowSeconds)}-s window)`,
    target: '≥ 90% of 50/s',
    met: t.globalShare >= 0.9,
  });
  rows.push({
    id: '9',
    figure: `429s from Discord, ${label}: unforeseen / sent although told to wait`,
    median: `${t.rateLimited} / ${t.rateLimitViolations}`,
    p95: '(count)',
    target: 'no storm (≤ 1%) / 0',
    met: t.rateLimitViolations === 0 && t.rateLimited <= t.requests / 100,
  });
  const slices = t.sliceTurnsPerSecond;
  notes.push(
    `9 (${label}): wake-ups of all ${t.salons} salons queued in ${ms(t.wakeMs)}; first turn on Discord ${ms(t.firstTurnMs)} after; the window (${fmt(t.windowTurns)} turns, from ${Math.round(t.from * 100)}% to ${Math.round(t.to * 100)}% of the ${fmt(t.salons * 2)}) opened ${fmt(t.rampSeconds)} s after the wake and lasted ${fmt(t.windowSeconds)} s` +
      (slices.length > 1 ? `, 10-s slices ${fmt(Math.min(...slices))}–${fmt(Math.max(...slices))} turns/s` : '') +
      `. ${fmt(t.requestsPerTurn)} requests a turn: ${Object.entries(t.byRoute)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${fmt(n / t.windowTurns, 2)}`)
        .join(', ')}. ` +
      `Turns by worker: ${t.turnsPerWorker.join(', ')}. CPU a turn: workers ${ms(t.workerCpuPerTurnMs)} together, proxy ${ms(t.proxyCpuPerTurnMs)}; event-loop delay p99 / max: proxy ${ms(t.proxyEld.p99)} / ${ms(t.proxyEld.max)}, the fakes' process ${ms(t.fakesEld.p99)} / ${ms(t.fakesEld.max)}. ` +
      `At most ${t.maxInAnySecond} requests reached the fake within any 1,000 ms (the tail of one burst and the head of the next; the fake, like the proxy, counts its own windows); 429s: ${t.report429}. ` +
      `Control: creating the ${fmt(t.threads.count)} threads through the same proxy, before the workers started, took ${fmt(t.threads.seconds)} s (bursts of 50 every ~1,025 ms), with ${t.threads.rateLimited} 429s. ${problemsText(t.problems)}`,
  );
}

function printTable(cond: ReturnType<typeof conditions>): void {
  const order = ['1', '2', '10', '11', '3', '4', '5', '6', '7', '8', '9', '12', '13', '14', '15'];
  rows.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const met = (r: Row) => (r.met === undefined ? '—' : r.met ? 'yes' : 'NO');
  const header = ['#', 'Figure', 'Median', 'p95', 'Target', 'Met?'];
  const cells = rows.map((r) => [r.id, r.figure, r.median, r.p95, r.target, met(r)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join(' | ');
  const conditionsText = [
    `Date: ${cond.date}`,
    `Machine: ${cond.cpu}, ${cond.cores} cores, ${cond.memory}; ${cond.os}`,
    `Node: ${cond.node}; bot compiled with tsconfig.build.json into bench/.build, one process, NODE_ENV=production, LOG_LEVEL=info`,
    `Code: ${cond.commit}`,
    `Command: node --import tsx bench/run.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    "Fakes: test/fakes/discord with rate limits off (discord.js's own 50 requests/s per REST client still applies), the fake OpenAI server of test/fakes/openai-server.ts; both in the bench process, on one clock.",
    ...(raw.cluster
      ? [
          "Figure 9: the fake Discord with its rate limits ON (50/s global per token, 5 posts or edits per 5 s per channel) and without Manage Webhooks (the bot posts as itself); a proxy and workers as their own processes (SALON_ROLE), the machine's PostgreSQL, a private redis-server; 10 guilds.",
        ]
      : []),
    ...(raw.webPage || raw.webViewers || raw.webLoad || raw.webLive
      ? [
          `Figures 12–15 (the web gallery): ${[raw.webPage || raw.webViewers || raw.webLoad ? 'figures 12, 14 and 15 run the gallery (startWebServer over a SQLite store, an in-process live feed) as its own process from the same build (bench/web-server.ts), its clients in the bench process' : '', raw.webLive ? `figure 13 runs the bot serving the gallery itself and ${(raw.webLive as { browser?: string }).browser ?? 'Chromium'} through playwright-core` : ''].filter(Boolean).join('; ')}.`,
        ]
      : []),
  ];
  const text = [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line), '', ...conditionsText, '', ...notes.map((n) => `- ${n}`)].join(
    '\n',
  );
  process.stdout.write(`${text}\n`);
  if (args.markdown) {
    const md = [
      `| ${header.join(' | ')} |`,
      `| ${header.map(() => '---').join(' | ')} |`,
      ...cells.map((c) => `| ${c.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`),
      '',
      ...conditionsText.map((c) => `- ${c}`),
      '',
      ...notes.map((n) => `- ${n}`),
      '',
    ].join('\n');
    writeFileSync(args.markdown, md);
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ conditions: cond, rows, notes, raw }, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
