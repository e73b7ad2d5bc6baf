/**
 * Salons driven by a pool of workers through BullMQ, with commands taken by a process that drives nothing: the
 * engine's 'leased' mode on the real Redis and PostgreSQL. Judged by the shared threads: every post once, in order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import { isDone, salonInputFor } from './harness.js';
import { FakeOpenAI } from '../fakes/openai-server.js';
import { seededRandom } from '../fakes/random.js';
import { testConfig } from '../helpers/config.js';
import { holdReply } from '../helpers/hold-reply.js';
import { whenSalon } from '../helpers/engine-events.js';
import { Cluster } from './cluster-harness.js';

/** Done, and handed back: the worker let go of its lease. */
const handedBack = (s: SalonRecord) => isDone(s) && s.lease?.released === true;

describe('leased engine: a gateway and workers sharing Redis and PostgreSQL', () => {
  let server: FakeOpenAI;
  let cluster: Cluster;

  beforeEach(async () => {
    server = await FakeOpenAI.start();
  });

  afterEach(async () => {
    await cluster?.close();
    await server.stop();
  });

  /** Every post of the salon once, in the order the record has them. */
  function expectShownOnce(salonId: string, turns: number) {
    const keys = cluster.threads.messages(salonId).map((m) => m.key);
    expect(keys).toEqual([...new Set(keys)]);
    const turnKeys = keys.filter((k) => k.includes(':turn:'));
    expect(turnKeys).toEqual(Array.from({ length: turns }, (_, i) => `${salonId}:turn:${i}#0`));
    // Nothing was even attempted twice: no worker took over a salon another was driving.
    const attempts = cluster.threads.deliveries.filter((k) => k.startsWith(`${salonId}:`));
    expect(attempts).toEqual([...new Set(attempts)]);
  }

  it('runs many salons across two workers, each turn posted once and in order', async () => {
    const seed = Number(process.env.SALON_CLUSTER_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = seededRandom(seed);
    const config = testConfig(server.baseURL, { rounds: 2 });
    cluster = new Cluster(config);
    const gateway = await cluster.join('gateway');
    await cluster.join('worker');
    await cluster.join('worker');
    const salons = await Promise.all(Array.from({ length: 12 }, () => gateway.engine.create(salonInputFor(config, { delaySeconds: random() < 0.5 ? 0 : 1 }))));
    const done = await Promise.all(
      salons.map((s) =>
        whenSalon(cluster, s.id, handedBack, 30_000).catch(async (err: Error) => {
          const record = await gateway.engine.get(s.id);
          const about = cluster.members.flatMap((m, i) => m.lines.filter((l) => l.includes(s.id)).map((l) => `${i} ${l}`));
          throw new Error(`${err.message} (seed ${seed})\n${JSON.stringify({ ...record, turns: record?.turns.length })}\n${about.join('\n')}`);
        }),
      ),
    );
    for (const salon of done) {
      expect(salon.turns, `seed ${seed}`).toHaveLength(4);
      expect(salon.lease?.released).toBe(true);
      expectShownOnce(salon.id, 4);
    }
    // Both workers took part (about 60 drives shared between them).
    for (const m of cluster.members.slice(1)) expect(m.drove.size).toBeGreaterThan(0);
  });

  it('takes a question sent while a worker is writing a turn: the turn is kept and the next one answers it', async () => {
    const config = testConfig(server.baseURL, { rounds: 2 });
    cluster = new Cluster(config);
    const gateway = await cluster.join('gateway');
    await cluster.join('worker');
    const release = holdReply(server, 0);
    const salon = await gateway.engine.create(salonInputFor(config));
    await server.waitForRequests(1);
    const { interjection, answeredIn } = await gateway.engine.ask(salon.id, { id: 'q1', author: { id: 'u2', name: 'Grace' }, text: 'What about memory?' });
    // The gateway holds no room for the salon: the record tells it a turn is being written, so the reply names the next.
    expect(answeredIn).toEqual({ round: 1, seat: 1, next: false });
    release();
    const done = await whenSalon(cluster, salon.id, handedBack, 20_000);
    expect(done.turns.map((t) => t.text)).toEqual(['Turn 0.', 'Turn 1.', 'Turn 2.', 'Turn 3.']);
    expect(done.interjections.find((q) => q.id === interjection.id)?.answeredBy).toBe(1);
    expect(JSON.stringify(server.requests[1]!.body.messages)).toContain('What about memory?');
    expectShownOnce(salon.id, 4);
  });

  it('closes a salon from the gateway while a worker is writing: the turn is dropped and the archive posted', async () => {
    const config = testConfig(server.baseURL, { rounds: 3 });
    cluster = new Cluster(config);
    const gateway = await cluster.join('gateway');
    await cluster.join('worker');
    server.setScript((req) => (req.index === 1 ? { hang: true } : { text: `Turn ${req.index}.` }));
    const salon = await gateway.engine.create(salonInputFor(config));
    await server.waitForRequests(2);
    await gateway.engine.close(salon.id, { synthesis: false });
    const closed = await whenSalon(cluster, salon.id, (s) => s.status === 'closed' && s.outbox.length === 0 && s.lease?.released === true, 20_000);
    expect(closed.turns.map((t) => t.text)).toEqual(['Turn 0.']);
    expect(cluster.threads.messages(salon.id).map((m) => m.kind)).toEqual(['header', 'turn', 'archive']);
    expect(closed.lease?.released).toBe(true);
  });

  it('carries on with another worker when one stops mid-salon, posting nothing twice', async () => {
    const config = testConfig(server.baseURL, { rounds: 3 });
    cluster = new Cluster(config);
    const gateway = await cluster.join('gateway');
    const first = await cluster.join('worker');
    const release = holdReply(server, 2);
    const salon = await gateway.engine.create(salonInputFor(config));
    await server.waitForRequests(3);
    // A second worker joins and the first shuts down in the middle of turn 2: the salon goes on there.
    await cluster.join('worker');
    const stopping = first.stop();
    release();
    await stopping;
    const done = await whenSalon(cluster, salon.id, handedBack, 20_000);
    expect(done.turns.map((t) => t.text)).toEqual(['Turn 0.', 'Turn 1.', 'Turn 3.', 'Turn 4.', 'Turn 5.', 'Turn 6.']);
    const keys = cluster.threads.messages(salon.id).map((m) => m.key);
    expect(keys).toEqual([...new Set(keys)]);
    expect(keys.filter((k) => k.includes(':turn:'))).toHaveLength(6);
  });

  it('a worker finds the lease of another running and leaves the salon to it', async () => {
    const config = testConfig(server.baseURL, { rounds: 1 });
    cluster = new Cluster(config, 5_000);
    const gateway = await cluster.join('gateway');
    const worker = await cluster.join('worker');
    const release = holdReply(server, 0);
    const salon = await gateway.engine.create(salonInputFor(config));
    await server.waitForRequests(1);
    // A duplicate run of the job (BullMQ is at least once) on another engine: the lease turns it away.
    const other = await cluster.join('gateway');
    const result = await other.engine.driver!.drive(salon.id);
    expect(result.outcome).toBe('busy');
    release();
    const done = await whenSalon(cluster, salon.id, handedBack, 20_000);
    expect(done.turns).toHaveLength(2);
    expect(done.lease?.owner).toMatch(/^worker-1:/);
    expect(worker.drove.has(salon.id)).toBe(true);
    expectShownOnce(salon.id, 2);
  });

  it('takes a command on the worker that is driving the salon (a gateway and a worker in one process) without racing the turn', async () => {
    const config = testConfig(server.baseURL, { rounds: 3 });
    cluster = new Cluster(config);
    const both = await cluster.join('worker');
    server.setScript((req) => (req.index === 1 ? { hang: true } : { text: `Turn ${req.index}.` }));
    const salon = await both.engine.create(salonInputFor(config));
    await server.waitForRequests(2);
    // Paused while turn 1 is being written, then closed: the turn in hand is dropped, the archive goes out.
    await both.engine.pause(salon.id);
    await both.engine.close(salon.id, { synthesis: false });
    const closed = await whenSalon(cluster, salon.id, (s) => s.status === 'closed' && s.outbox.length === 0 && s.lease?.released === true, 20_000);
    expect(closed.turns.map((t) => t.text)).toEqual(['Turn 0.']);
    expect(cluster.threads.messages(salon.id).map((m) => m.kind)).toEqual(['header', 'turn', 'archive']);
    expect(server.requests).toHaveLength(2);
  });
});
