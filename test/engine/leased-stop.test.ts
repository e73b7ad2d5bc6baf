/**
 * A worker told to stop hands each salon it drives back at once, even when the stop comes between a step being
 * arranged (its timer set) and the timer firing: the cancelled step must not leave the drive waiting for an idle
 * moment that never comes, with the lease renewed forever and the process unable to exit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SalonEngine } from '../../src/engine/engine.js';
import type { Wakeups } from '../../src/engine/ports.js';
import { OpenAIModelClient } from '../../src/models/openai-client.js';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { FakeOpenAI } from '../fakes/openai-server.js';
import { testConfig } from '../helpers/config.js';
import { memoryLogger } from '../helpers/log.js';
import { MemoryPublisher, MemoryThreads } from '../helpers/memory-publisher.js';
import { tempDir } from '../helpers/tmp.js';
import { salonInputFor } from './harness.js';

describe('a leased engine stopping mid-drive', () => {
  let server: FakeOpenAI;
  let dir: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    server = await FakeOpenAI.start();
    dir = tempDir();
  });
  afterEach(async () => {
    await server.stop();
    dir.cleanup();
  });

  it('hands the salon back with a wake-up for at once when the stop comes before an arranged step runs', async () => {
    const config = testConfig(server.baseURL, { rounds: 2 });
    const opened = await openKeyv(`sqlite://${dir.path}/salons.sqlite`);
    const store = new KeyvSalonStore(opened.keyv, () => opened.close());
    const wakes: { salonId: string; at: number }[] = [];
    const wakeups: Wakeups = {
      wake: (salonId, _version, at) => {
        wakes.push({ salonId, at });
        return Promise.resolve();
      },
    };
    const { log } = memoryLogger();
    const engine = new SalonEngine({
      config,
      store,
      models: new OpenAIModelClient(config.models, log),
      publisher: new MemoryPublisher(new MemoryThreads(), { draftIntervalMs: 1_500, typingIntervalMs: 50 }),
      log,
      driving: 'leased',
      wakeups,
      leaseMs: 5_000,
      workerId: 'w1',
    });
    const salon = await engine.create(salonInputFor(config));
    // The moment the lease is taken, ask for a stop on the next turn of the event loop: after the drive has arranged
    // its first step (a timer for at once) and before that timer fires.
    let stopping: Promise<void> | undefined;
    engine.on('saved', (s) => {
      if (s.id === salon.id && s.lease && !s.lease.released && !stopping) setImmediate(() => (stopping = engine.stop()));
    });
    const drive = engine.driver!.drive(salon.id);
    const outcome = await Promise.race([drive, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000).unref())]);
    expect(outcome).toEqual({ outcome: 'done', wakeAt: expect.any(Number) });
    await stopping;
    const stored = await store.get(salon.id);
    expect(stored?.lease?.released).toBe(true);
    // Another worker is woken for at once, so the salon carries on without waiting out the lease.
    expect(wakes.at(-1)).toEqual({ salonId: salon.id, at: expect.any(Number) });
    expect(wakes.at(-1)!.at).toBeLessThanOrEqual(Date.now());
    await store.close();
  });
});
