import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from './harness.js';

describe('cluster smoke', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
  });

  it('runs a few salons', async () => {
    cluster = await Cluster.start({ guilds: 4 });
    await cluster.launch('proxy');
    await Promise.all([cluster.gateway(0), cluster.gateway(1), cluster.launch('worker'), cluster.launch('worker')]);
    const threads = await Promise.all([0, 1, 2, 3].map((g) => cluster!.startSalon(g)));
    await cluster.whenFinished(threads, 30_000);
    expect(await cluster.problems(threads)).toEqual([]);
    expect(cluster.discord.violations).toEqual([]);
  }, 90_000);
});
