/**
 * salon as a cluster of processes: two gateways (a shard each), three workers and the REST proxy over one
 * PostgreSQL and one Redis, against one fake Discord. Judged as Discord users see the threads: every turn shown
 * once, in order, complete; then the same through kill -9, SIGSTOP and restarts of Redis and PostgreSQL.
 *
 * Seeded (SALON_CLUSTER_SEED replays a run); the seed is in every suite's name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BOT_PERMISSIONS } from '../fakes/discord/index.js';
import { seededRandom } from '../fakes/random.js';
import { ProcessCluster } from './harness.js';

const AS_BOT = DEFAULT_BOT_PERMISSIONS & ~(1n << 29n);
const SEED = Number(process.env.SALON_CLUSTER_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`a cluster of processes (seed ${SEED})`, () => {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('runs 200 salons across 10 guilds, streamed and whole turns: each shown once, in order, complete', async () => {
    const random = seededRandom(SEED);
    // Posting as the bot (no Manage Webhooks), so the bot token's global limit is what binds, shared through the proxy.
    cluster = await ProcessCluster.start({ seed: SEED, guilds: 10, discord: { botPermissions: AS_BOT } });
    const c = cluster;
    await c.launch('proxy');
    // Two workers stream their turns and one posts them whole (a config change rolling out), so a salon's turns
    // come either way, by whichever worker takes them.
    const [gateway0, gateway1, ...workers] = await Promise.all([
      c.gateway(0),
      c.gateway(1),
      c.launch('worker', {}, true),
      c.launch('worker', {}, true),
      c.launch('worker', {}, false),
    ]);
    // Starts in waves of 25, as a busy evening would bring them; each with its own delay between turns.
    const threads: string[] = [];
    for (let wave = 0; wave < 8; wave++) {
      const started = await Promise.all(Array.from({ length: 25 }, () => c.startSalon(Math.floor(random() * 10), { delay: Math.floor(random() * 4) })));
      threads.push(...started);
    }
    await c.whenFinished(threads, 240_000);
    expect(await c.problems(threads, true), `seed ${SEED}`).toEqual([]);
    expect(c.discord.violations).toEqual([]);
    expect(c.discord.rateLimitViolations, c.rateLimitReport()).toBe(0);
    // Each gateway took the commands of its own shard's guilds, every worker drove salons, and turns were both
    // streamed (edited in place) and posted whole.
    for (const [shard, gateway] of [gateway0, gateway1].entries()) {
      expect(
        gateway.lines.some((l) => l.includes('"msg":"salon created"')),
        `gateway ${shard}`,
      ).toBe(true);
    }
    for (const worker of workers) expect(worker.lines.some((l) => l.includes('"msg":"turn written"'))).toBe(true);
    expect(c.discord.requests.some((r) => r.method === 'PATCH' && /^\/channels\/\d+\/messages\/\d+$/.test(r.path))).toBe(true);
  }, 300_000);
});
