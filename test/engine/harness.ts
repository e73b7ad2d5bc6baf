/** Wires a real engine to a real store, the real model client and the local model server. */
import type { Config } from '../../src/config/index.js';
import { SalonEngine } from '../../src/engine/engine.js';
import type { NewSalon, SalonRecord } from '../../src/domain/salon.js';
import { OpenAIModelClient } from '../../src/models/openai-client.js';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { memoryLogger } from '../helpers/log.js';
import { MemoryPublisher, MemoryThreads } from '../helpers/memory-publisher.js';

export interface Harness {
  engine: SalonEngine;
  publisher: MemoryPublisher;
  store: KeyvSalonStore;
  lines: string[];
  stop(): Promise<void>;
}

export async function startEngine(config: Config, storeUrl: string, threads = new MemoryThreads()): Promise<Harness> {
  const { log, lines } = memoryLogger(['sk-test-0123456789abcdef']);
  const opened = await openKeyv(storeUrl);
  const store = new KeyvSalonStore(opened.keyv, () => opened.close());
  const publisher = new MemoryPublisher(threads, { draftIntervalMs: 1_500, typingIntervalMs: 50 });
  const models = new OpenAIModelClient(config.models, log, { baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 5_000 });
  const engine = new SalonEngine({
    config,
    store,
    models,
    publisher,
    log,
    modelRetry: { maxAttempts: 2, backoffMs: () => 20 },
    deliveryBackoffMs: () => 20,
  });
  await engine.start();
  return {
    engine,
    publisher,
    store,
    lines,
    async stop() {
      await engine.stop();
      await store.close();
    },
  };
}

let counter = 0;
/** What `engine.create` takes for a salon of `config`'s default seats and rounds, under an id no other call gives. */
export function salonInputFor(config: Config, overrides: Partial<NewSalon> = {}): NewSalon {
  counter += 1;
  return {
    id: `salon-${process.pid}-${counter}`,
    starter: { id: 'u1', name: 'Ada' },
    topic: 'Do language models want their words to persist?',
    seats: [
      { key: config.salon.modelA, name: config.models[config.salon.modelA]!.name, model: config.models[config.salon.modelA]!.model },
      { key: config.salon.modelB, name: config.models[config.salon.modelB]!.name, model: config.models[config.salon.modelB]!.model },
    ],
    rounds: config.salon.rounds,
    delaySeconds: config.salon.turnDelaySeconds,
    ...overrides,
  };
}

export const isDone = (s: SalonRecord) => s.status === 'finished' && s.outbox.length === 0;
