/** What the bot posts in a salon's thread on its own: that the salon finished, failed, or spent its budget. */
import { formatUSD } from '../domain/ledger.js';
import type { Notice } from '../domain/salon.js';
import { warning } from './refusals.js';

/** Why a salon ended before its last round: its last `turns` turns kept saying what had been said (the notice and the transcript quote it). */
export function repetitionText(turns: number): string {
  return `the last ${turns} turns mostly repeated what had already been said`;
}

/** A notice as posted in the thread. */
export function noticeText(notice: Notice): string {
  switch (notice.code) {
    case 'finished': {
      const { rounds, unanswered } = notice;
      const late = unanswered === 1 ? 'One question was' : `${unanswered} questions were`;
      return [
        `The salon has finished after ${rounds} ${rounds === 1 ? 'round' : 'rounds'}.`,
        notice.endedEarly ? ` It ended early: ${notice.endedEarly}.` : '',
        unanswered > 0 ? ` ${late} asked too late to be answered.` : '',
        notice.closing ? ' The transcript follows and the thread will be archived.' : ' Use `/salon close` to post the transcript and archive the thread.',
      ].join('');
    }
    case 'model_failed': {
      const tries = notice.attempts !== undefined && notice.attempts > 1 ? ` after ${notice.attempts} tries` : '';
      return warning(`${notice.name} could not take its turn${tries}: ${notice.reason}. The salon is paused; use \`/salon resume\` to try again.`);
    }
    case 'budget_spent':
      return (
        `💸 This salon has spent ${formatUSD(notice.spent)} of its ${formatUSD(notice.budget)} budget, so it is paused. ` +
        'To go on, raise the budget: `/salon resume budget:<dollars>`.'
      );
    case 'legacy':
      return notice.text;
  }
}
