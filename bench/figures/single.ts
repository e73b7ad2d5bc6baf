/**
 * Figure 3: one salon on its own, 5 rounds, delay 0, every model reply taking `latencyMs` from request to last
 * byte (streamed when the bot asks for a stream: first text after 30% of it). Wall time runs from the bench
 * sending the `/salon start` interaction to the fake Discord receiving the request that completes the last turn;
 * the ideal is the sum of the model latencies as the model server measured them. Salons run one after another in
 * one bot process; the first is a warm-up and is not counted.
 */
import type { InteractionResponseView } from '../../test/fakes/discord/index.js';
import { turnsOnDiscord } from '../lib/discord.js';
import { salonTag } from '../lib/models.js';
import { now, sum } from '../lib/stats.js';
import { turnText } from '../lib/texts.js';
import { World } from '../lib/world.js';

export interface SingleOptions {
  runs: number;
  rounds: number;
  latencyMs: number;
  salon?: Record<string, string | number | boolean>;
}

export interface SingleRun {
  wallMs: number;
  idealMs: number;
  ratio: number;
  /** Interaction → first model request. */
  startMs: number;
  /** Sum of the gaps between one model reply's last byte and the next request. */
  betweenMs: number;
  /** Last model byte → last turn complete on Discord. */
  tailMs: number;
}

export async function singleRuns(options: SingleOptions): Promise<SingleRun[]> {
  const counters = new Map<number, number>();
  const world = await World.start({
    models: {
      text: (call) => {
        const tag = salonTag(call) ?? 0;
        const i = counters.get(tag) ?? 0;
        counters.set(tag, i + 1);
        return turnText(i, tag + 1);
      },
      latencyMs: () => options.latencyMs,
    },
  });
  const bot = await world.startBot({ rounds: options.rounds, turnDelaySeconds: 0, salon: options.salon });
  const results: SingleRun[] = [];
  try {
    const { discord, models } = world;
    for (let run = 0; run <= options.runs; run++) {
      const t0 = now();
      const ix = discord.fake.interact({
        user: world.members[0]!,
        name: 'salon',
        subcommand: 'start',
        options: { topic: `[s${run}] Do language models want their words to persist?` },
      });
      const reply: InteractionResponseView = await ix.response(10_000);
      const thread = /<#(\d+)>/.exec(reply.content)?.[1];
      if (!thread) throw new Error(`bench: no thread in the reply: ${reply.content}`);
      await discord.waitForPost(
        () => (discord.posts.some((p) => p.thread === thread && /The salon has finished/.test(p.content)) ? true : undefined),
        60_000,
        'the salon to finish',
      );
      const calls = models.requests.filter((c) => salonTag(c) === run);
      const turns = turnsOnDiscord(discord.posts, (call) => models.requests[call]?.endAt).filter((t) => t.thread === thread);
      if (calls.length !== options.rounds * 2 || turns.length !== calls.length)
        throw new Error(`bench: salon ${run} made ${calls.length} model calls and ${turns.length} turns`);
      const end = Math.max(...turns.map((t) => t.completeAt));
      const idealMs = sum(calls.map((c) => c.endAt! - c.arrivedAt));
      const between = calls.slice(1).map((c, i) => c.arrivedAt - calls[i]!.endAt!);
      if (run > 0) {
        results.push({
          wallMs: end - t0,
          idealMs,
          ratio: (end - t0) / idealMs,
          startMs: calls[0]!.arrivedAt - t0,
          betweenMs: sum(between),
          tailMs: end - calls.at(-1)!.endAt!,
        });
      }
    }
    return results;
  } finally {
    await world.close(bot);
  }
}
