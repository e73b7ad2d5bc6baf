/**
 * Several engines in one test process sharing one store and one BullMQ queue, as a gateway and workers on
 * several hosts would: real Redis, real PostgreSQL, the real model client against the fake OpenAI server, and
 * memory threads shared by every publisher (a Discord thread outlives the process that posted to it).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../src/config/index.js';
import { SalonEngine } from '../../src/engine/engine.js';
import type { SalonStore } from '../../src/engine/ports.js';
import { OpenAIModelClient } from '../../src/models/openai-client.js';
import { openJobQueue, type JobQueue } from '../../src/queue/job-queue.js';
import { startSalonWorker, type RunningWorker } from '../../src/queue/salon-worker.js';
import { PostgresSalonStore } from '../../src/store/postgres-salon-store.js';
import { memoryLogger } from '../helpers/log.js';
import { dropSchema } from '../helpers/servers.js';
import { POSTGRES_URL, REDIS_URL } from '../helpers/server-urls.js';
import { MemoryPublisher, MemoryThreads } from '../helpers/memory-publisher.js';

export interface ClusterMember {
  engine: SalonEngine;
  publisher: MemoryPublisher;
  worker?: RunningWorker;
  lines: string[];
  /** Salons this member saved a change to while holding their lease. */
  drove: Set<string>;
  stop(): Promise<void>;
}

export class Cluster {
  readonly threads = new MemoryThreads();
  readonly members: ClusterMember[] = [];
  private readonly schema = `salon_cluster_${process.pid}_${randomUUID().slice(0, 8)}`;
  readonly prefix = `salon-test-${randomUUID().slice(0, 8)}`;
  private readonly closers: Array<() => Promise<unknown>> = [];

  constructor(
    private readonly config: Config,
    readonly leaseMs = 3_000,
  ) {}

  /** A process: its own store connections, queue connections, model client and publisher. */
  async join(role: 'gateway' | 'worker'): Promise<ClusterMember> {
    const { log, lines } = memoryLogger(['sk-test-0123456789abcdef']);
    const store: SalonStore = await PostgresSalonStore.open(POSTGRES_URL, { schema: this.schema, maxConnections: 4 });
    const queue: JobQueue = await openJobQueue(REDIS_URL, this.prefix, log);
    const publisher = new MemoryPublisher(this.threads, { draftIntervalMs: 300, typingIntervalMs: 50 });
    const models = new OpenAIModelClient(this.config.models, log, { baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 5_000 });
    const workerId = `${role}-${this.members.length}`;
    const engine = new SalonEngine({
      config: this.config,
      store,
      models,
      publisher,
      log,
      driving: 'leased',
      wakeups: queue.wakeups,
      leaseMs: this.leaseMs,
      fenceMarginMs: 1_000,
      workerId,
      modelRetry: { maxAttempts: 2, backoffMs: () => 20 },
      deliveryBackoffMs: () => 20,
    });
    await engine.start();
    const worker =
      role === 'worker'
        ? startSalonWorker({
            driver: engine.driver!,
            store,
            jobs: queue,
            concurrency: 20,
            leaseMs: this.leaseMs,
            sweepEveryMs: 1_000,
            log,
          })
        : undefined;
    let stopped: Promise<void> | undefined;
    const drove = new Set<string>();
    engine.on('saved', (salon) => {
      if (salon.lease?.owner.startsWith(`${workerId}:`)) drove.add(salon.id);
    });
    const member: ClusterMember = {
      engine,
      publisher,
      worker,
      lines,
      drove,
      stop: () =>
        (stopped ??= (async () => {
          const closing = worker?.close();
          await engine.stop();
          await closing;
          await queue.close();
          await store.close();
        })()),
    };
    this.members.push(member);
    this.closers.push(() => member.stop());
    return member;
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0)) await close().catch(() => {});
    await dropSchema(POSTGRES_URL, this.schema);
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${this.prefix}:*`);
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }
}
