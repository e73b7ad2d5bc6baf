/**
 * Finds live salons that no job will ever wake (Redis lost its data, a job failed for good, a process died between
 * saving a command and arranging its wake-up) and wakes them. Reads a salon only when it has no job.
 */
import { CLOCK_SKEW_MS } from '../domain/lease.js';
import { dueAt } from '../domain/salon.js';
import type { SalonStore } from '../engine/ports.js';
import type { QueueWakeups } from './wakeups.js';

export async function sweep(store: SalonStore, wakeups: QueueWakeups): Promise<{ live: number; woken: number }> {
  const ids = await store.activeIds();
  let woken = 0;
  for (let i = 0; i < ids.length; i += 64) {
    await Promise.all(
      ids.slice(i, i + 64).map(async (id) => {
        if (await wakeups.pending(id)) return;
        const salon = await store.get(id).catch(() => undefined);
        const at = salon && dueAt(salon);
        if (!salon || at === undefined) return;
        // A lease still running means a worker may be mid-step: wake the salon for when the lease ends.
        const lease = salon.lease && !salon.lease.released ? salon.lease : undefined;
        await wakeups.wake(id, salon.version, lease ? Math.max(at, lease.until + CLOCK_SKEW_MS) : at);
        woken += 1;
      }),
    );
  }
  return { live: ids.length, woken };
}
