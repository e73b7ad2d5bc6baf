/**
 * Every Discord request a process makes goes through here: one made under a salon's lease is refused once the
 * lease is over, and carries its deadline to the REST proxy.
 */
import { DefaultRestOptions, type RESTOptions } from 'discord.js';
import { currentFence } from '../engine/fence.js';

/**
 * The wall-clock time (epoch ms) past which a request must not reach Discord, sent to the REST proxy with each
 * request made under a lease: the proxy queues requests for the shared rate limits, and checks this as it sends
 * one on, so a request that waited there past its lease is dropped rather than posted after a take-over.
 */
export const FENCE_HEADER = 'x-salon-fence-deadline';

/**
 * discord.js's own request function behind a last check of the salon's fence (see src/engine/fence.ts): a request
 * that waited in discord.js's rate-limit queue while the process was frozen is refused instead of sent, once
 * another worker may have taken the salon over; and one sent carries its deadline for the proxy.
 */
export const fencedRequest: RESTOptions['makeRequest'] = (url, init) => {
  const fence = currentFence();
  if (!fence) return DefaultRestOptions.makeRequest(url, init);
  fence.check();
  // Only a lease has a deadline to pass on; a salon driven by the only process has none.
  const deadline = fence.wallDeadline;
  if (!Number.isFinite(deadline)) return DefaultRestOptions.makeRequest(url, init);
  const headers = { ...(init.headers as Record<string, string> | undefined), [FENCE_HEADER]: String(Math.floor(deadline)) };
  return DefaultRestOptions.makeRequest(url, { ...init, headers });
};
