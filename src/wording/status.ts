/** What `/salon status` says about a salon. */
import { formatUSD } from '../domain/ledger.js';
import type { PauseReason } from '../domain/salon.js';

/** Why a salon paused itself, as `/salon status` shows it. */
export function pauseText(reason: PauseReason): string {
  switch (reason.code) {
    case 'budget_reached':
      return `budget reached: ${formatUSD(reason.spent)} spent of ${formatUSD(reason.budget)}`;
    case 'model_failed':
      return `${reason.name} failed: ${reason.reason}`;
    case 'undeliverable':
      return reason.reason;
    case 'thread_deleted':
      return 'the thread was deleted';
    case 'legacy':
      return reason.text;
  }
}

/**
 * A turn being retried, as `/salon status` shows it: who, which try comes next and when (`when` is already worded:
 * a Discord timestamp, or "now"), and why the last one failed.
 */
export function retryText(retry: { name: string; attempts: number; maxAttempts?: number; when: string; reason: string }): string[] {
  const next = retry.attempts + 1;
  const of = retry.maxAttempts !== undefined ? ` of ${retry.maxAttempts}` : '';
  return [`**Retrying:** ${retry.name}, try ${next}${of}, ${retry.when}`, `**Last try failed:** ${retry.reason}`];
}
