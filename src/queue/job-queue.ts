/** Opens the shared BullMQ queue on Redis (the one place that does), for wake-ups (every role) and for a worker's jobs. */
import { Redis } from 'ioredis';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import { redactStoreUrl, StoreError } from '../store/store-error.js';
import { QUEUE_NAME, QueueWakeups, type DriveJob, type SweepJob } from './wakeups.js';

export interface JobQueue {
  queue: Queue<DriveJob | SweepJob>;
  wakeups: QueueWakeups;
  /** For a worker's own connections (BullMQ gives each worker a blocking one). */
  connection: ConnectionOptions;
  prefix: string;
  close(): Promise<void>;
}

export async function openJobQueue(url: string, prefix: string, log: Logger): Promise<JobQueue> {
  // Checked once up front, so a wrong URL stops start-up with one line instead of endless reconnects.
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new StoreError(`cannot use the job queue at ${redactStoreUrl(url)}: ${(err as Error).message} (check SALON_QUEUE_URL)`, { cause: err });
  } finally {
    probe.disconnect();
  }
  // The URL's settings as ioredis reads them (host, port, password, db, TLS), for BullMQ to open its own connections
  // with; `maxRetriesPerRequest: null`, as BullMQ requires, makes a command wait out a Redis restart.
  const parsed = new Redis(url, { lazyConnect: true }).options;
  const retryStrategy = (times: number) => Math.min(times * 200, 3_000);
  const connection: ConnectionOptions = { ...parsed, lazyConnect: false, retryStrategy, maxRetriesPerRequest: null };
  const queue = new Queue<DriveJob | SweepJob>(QUEUE_NAME, { connection, prefix });
  queue.on('error', (err) => log.warn({ err: err.message }, 'job queue connection error'));
  await queue.waitUntilReady();
  return {
    queue,
    wakeups: new QueueWakeups(queue),
    connection,
    prefix,
    close: () => queue.close(),
  };
}
