/**
 * Who drives a salon when several workers share the store. A lease is part of the record, so taking, renewing and
 * releasing it are ordinary conditional saves: two workers can never both take one version of the salon.
 */
import type { Lease, SalonRecord } from './salon.js';

/**
 * How long past `until` a lease still counts as held: the hosts' clocks may disagree by this much, and the holder
 * stops acting before its own view of `until` (see Fence), so the two never overlap.
 */
export const CLOCK_SKEW_MS = 1_000;

/** The lease another worker holds on the salon at `now`, if any. */
export function heldElsewhere(salon: SalonRecord, owner: string, now: number): Lease | undefined {
  const lease = salon.lease;
  if (!lease || lease.released || lease.owner === owner) return undefined;
  return lease.until + CLOCK_SKEW_MS > now ? lease : undefined;
}

/** Takes the lease (a new epoch) or renews one already held; the caller saves the record. */
export function takeLease(salon: SalonRecord, owner: string, now: number, durationMs: number): Lease {
  const current = salon.lease;
  const renewing = current && !current.released && current.owner === owner;
  salon.lease = { owner, epoch: renewing ? current.epoch : (current?.epoch ?? 0) + 1, until: now + durationMs };
  return salon.lease;
}

/** Whether the lease in the record is still the one `epoch` names, held by `owner`. */
export function stillHeld(salon: SalonRecord, owner: string, epoch: number): boolean {
  return salon.lease?.owner === owner && salon.lease.epoch === epoch && !salon.lease.released;
}

/** Lets go of the lease, keeping its epoch so the next holder's is higher. */
export function releaseLease(salon: SalonRecord, now: number): void {
  if (salon.lease) salon.lease = { ...salon.lease, until: now, released: true };
}
