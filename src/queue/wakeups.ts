/**
 * The engine's Wakeups port on BullMQ: one job per wake-up, in one queue every process shares.
 *
 * A salon has at most one pending job. BullMQ's deduplication, keyed by the salon, does it: a new wake-up replaces
 * the salon's delayed job; one asked while a worker is driving the salon is kept (the last one only) and queued
 * when that job ends, so two workers never get the same salon from the queue; one asked while a job already waits
 * to run now is dropped, since that job reads the salon afresh. The job id names the salon and the version the
 * wake-up was worked out from, so the same wake-up asked twice (two gateways, a retry) is one job.
 *
 * BullMQ is at least once: a job may run twice (a worker frozen past its lock, then woken). The lease in the
 * record, not the queue, decides who drives; a second run finds the lease held, or nothing due, and stops.
 */
import type { Queue } from 'bullmq';
import type { Wakeups } from '../engine/ports.js';

export const QUEUE_NAME = 'salon-steps';

export interface DriveJob {
  salonId: string;
}

export interface SweepJob {
  sweep: true;
}

/** Attempts of a job whose drive failed (the store was away), before the sweep has to find the salon again. */
const JOB_ATTEMPTS = 8;

export class QueueWakeups implements Wakeups {
  constructor(private readonly queue: Queue<DriveJob | SweepJob>) {}

  /** Whether a wake-up of the salon is pending or running. */
  async pending(salonId: string): Promise<boolean> {
    const jobId = await this.queue.getDeduplicationJobId(salonId);
    return !!jobId && !!(await this.queue.getJob(jobId));
  }

  /**
   * Arranges the sweep of the period `now` falls in (see sweep.ts), once across all workers: the job id names the
   * period, so the others' adds are no-ops.
   */
  async arrangeSweep(everyMs: number, now = Date.now()): Promise<void> {
    const period = Math.floor(now / everyMs);
    await this.queue.add(
      'sweep',
      { sweep: true },
      { jobId: `sweep-${period}`, removeOnComplete: { age: Math.ceil((2 * everyMs) / 1000) }, removeOnFail: true },
    );
  }

  async wake(salonId: string, version: number, at: number): Promise<void> {
    await this.queue.add(
      'drive',
      { salonId },
      {
        jobId: `${salonId}-v${version}`,
        delay: Math.max(0, at - Date.now()),
        deduplication: { id: salonId, replace: true, keepLastIfActive: true },
        attempts: JOB_ATTEMPTS,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: true,
        removeOnFail: { count: 1_000 },
      },
    );
  }
}
