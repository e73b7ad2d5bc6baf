/**
 * A worker: takes wake-ups from the shared queue and drives each salon through the engine's Driver until it is handed back.
 *
 * Fail-over rests on BullMQ's stalled-job recovery: a job's lock lasts `leaseMs` and is renewed while the job runs;
 * once a worker stops renewing it (killed, frozen, cut off), another worker's stalled check, every third of that,
 * moves the job back to the queue and someone takes it. The salon's own lease (the same length, in the record) then
 * decides: the new worker waits it out if need be, and the old one, should it wake, finds its fence down.
 */
import { Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Driver, SalonStore } from '../engine/ports.js';
import type { JobQueue } from './job-queue.js';
import { sweep } from './sweep.js';
import { QUEUE_NAME, type DriveJob, type SweepJob } from './wakeups.js';

export interface SalonWorkerOptions {
  driver: Driver;
  store: SalonStore;
  jobs: JobQueue;
  /** Salons driven at once by this process. */
  concurrency: number;
  leaseMs: number;
  /** How often some worker looks for live salons without a job (after Redis lost its data, or a job failed for good). */
  sweepEveryMs?: number;
  log: Logger;
}

export interface RunningWorker {
  /** True while the worker is connected and taking jobs. */
  readonly running: boolean;
  /** Takes no more jobs; resolves once the jobs in hand have ended. */
  close(): Promise<void>;
}

export function startSalonWorker(options: SalonWorkerOptions): RunningWorker {
  const { driver, log, jobs } = options;
  const sweepEveryMs = options.sweepEveryMs ?? 60_000;
  const worker = new Worker<DriveJob | SweepJob>(
    QUEUE_NAME,
    async (job: Job<DriveJob | SweepJob>) => {
      if ('sweep' in job.data) {
        const result = await sweep(options.store, jobs.wakeups);
        if (result.woken > 0) log.warn(result, 'sweep woke salons that had no job');
        return result;
      }
      log.debug({ salonId: job.data.salonId, job: job.id }, 'drive started');
      const result = await driver.drive(job.data.salonId);
      log.debug({ salonId: job.data.salonId, job: job.id, ...result }, 'drive ended');
      return result;
    },
    {
      connection: jobs.connection,
      prefix: jobs.prefix,
      concurrency: options.concurrency,
      lockDuration: options.leaseMs,
      stalledInterval: Math.max(1_000, Math.round(options.leaseMs / 3)),
      // A stall is a worker that died, not a job that kills workers: keep recovering it.
      maxStalledCount: 100,
    },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'job queue error'));
  // Another worker stopped renewing this job's lock (killed, frozen, cut off): it goes back to the queue.
  worker.on('stalled', (jobId) => log.warn({ job: jobId }, 'a salon step stalled on another worker; it is queued again'));
  worker.on('failed', (job, err) => log.warn({ job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'a salon step failed; the queue will retry it'));

  // One sweep per period across all workers.
  const arrangeSweep = () => void jobs.wakeups.arrangeSweep(sweepEveryMs).catch((err: unknown) => log.warn({ err }, 'could not arrange a sweep'));
  arrangeSweep();
  const timer = setInterval(arrangeSweep, sweepEveryMs);
  timer.unref();

  return {
    get running() {
      return worker.isRunning() && !worker.closing;
    },
    async close() {
      clearInterval(timer);
      await worker.close();
    },
  };
}
