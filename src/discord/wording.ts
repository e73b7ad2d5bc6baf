/**
 * Every word the bot says in Discord, rendered from data: the domain and the handlers say what happened (a code
 * and its values), and this module alone says it in words. What people see is defined here and nowhere else.
 */
import type { ModelFailure, NumberField, Refusal, TextField } from '../domain/errors.js';
import { formatUSD } from '../domain/ledger.js';
import type { Notice, PauseReason } from '../domain/salon.js';
import { cutOnWord } from '../domain/text.js';
import { CUT_OFF_LINE } from '../domain/transcript.js';

/** A turn's text as posted: a reply cut off at the model's length limit says so under it, as the archive does. */
export function turnText(text: string, finishReason?: string): string {
  return finishReason === 'length' ? `${text.trimEnd()}\n\n${CUT_OFF_LINE}` : text;
}

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
      return `⚠️ ${notice.name} could not take its turn${tries}: ${notice.reason}. The salon is paused; use \`/salon resume\` to try again.`;
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

/** What an HTTP error status means for a model request. */
function statusWords(status: number): string {
  switch (status) {
    case 400:
      return 'the endpoint refused the request';
    case 401:
      return 'the API key was refused';
    case 402:
      return 'the account is out of credit';
    case 403:
      return 'access to the model is forbidden';
    case 404:
      return 'the model or endpoint was not found';
    case 408:
      return 'the endpoint timed out';
    case 429:
      return 'rate-limited by the endpoint';
    default:
      return status >= 500 ? 'the endpoint had a server error' : 'the endpoint sent an error';
  }
}

/** `code: message`, either, or nothing: the endpoint's own account of an error. */
function providerSays(code: string | number | undefined, message: string | undefined): string {
  const said = [code, message].filter((part) => part !== undefined && part !== '').join(': ');
  return said ? ` (${said})` : '';
}

/**
 * Why a model request failed, as the thread's notice and `/salon status` give it (after the model's name). Where the
 * endpoint gave a message of its own, it is quoted.
 */
export function modelFailureText(failure: ModelFailure): string {
  switch (failure.code) {
    case 'http_status':
      return `${statusWords(failure.status)} (HTTP ${failure.status}${failure.message ? `: ${failure.message}` : ''})`;
    case 'error_in_reply':
      return failure.where === 'body'
        ? `the endpoint answered with an error instead of a reply${providerSays(failure.errorCode, failure.message)}`
        : `the endpoint sent an error in the middle of the reply${providerSays(failure.errorCode, failure.message)}`;
    case 'cut_short':
      return (
        'the reply stopped before it was finished: ' + `the stream ended after ${failure.characters.toLocaleString('en-US')} characters without a finish reason`
      );
    case 'connection_broken':
      return `the connection to ${failure.host} broke mid-reply${failure.message ? ` (${failure.message})` : ''}`;
    case 'unreachable':
      return `could not reach ${failure.host}${failure.message ? ` (${failure.message})` : ''}`;
    case 'timeout':
      return `no reply within ${failure.seconds} s`;
    case 'empty_reply':
      return `${failure.name} returned an empty reply${failure.finishReason ? ` (finish reason: ${failure.finishReason})` : ''}`;
    case 'no_room_to_reply': {
      const key = `models.${failure.modelKey}.maxTokens`;
      const spent = failure.reasoning ? 'its reasoning used the whole maxTokens' : 'it reached maxTokens';
      return `${spent} (${failure.maxTokens.toLocaleString('en-US')} tokens) before writing a word of the reply; raise \`${key}\` in the config`;
    }
    case 'not_in_config':
      return `no model "${failure.modelKey}" in the config`;
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

const TEXT_FIELDS: Record<TextField, string> = { question: 'question', topic: 'topic', direction: 'direction' };
const NUMBER_FIELDS: Record<NumberField, string> = {
  rounds: 'number of rounds',
  rounds_to_add: 'number of rounds to add',
  delay: 'delay',
  fork_round: 'round to fork from',
};

function where(command: string): string {
  return `Use \`/salon ${command}\` inside a salon's thread (start one with \`/salon start\`).`;
}

function salons(n: number): string {
  return `${n} ${n === 1 ? 'salon' : 'salons'}`;
}

/** Why a request was refused, said to the person who made it: what is wrong, and what to do instead. */
export function refusalText(refusal: Refusal): string {
  switch (refusal.code) {
    case 'closed':
      return 'This salon is closed; its transcript has been posted.';
    case 'question_duplicate':
      return 'That question is already in the salon.';
    case 'no_turn_left': {
      if (refusal.lastInFlight)
        return (
          'The last turn is already being written and cannot see a new question, so nobody would answer it. ' + 'Add rounds with `/salon extend` and ask again.'
        );
      const who = refusal.to !== undefined ? `${refusal.to} has no turn left` : 'no model has a turn left';
      return `${who} in this salon, so nobody would answer. Add rounds with \`/salon extend\`${refusal.to !== undefined ? ' or ask without `to`' : ''}.`;
    }
    case 'questions_waiting':
      return `${refusal.max} questions are already waiting, the most this salon takes at once. Ask again after the next turn.`;
    case 'too_many_rounds':
      return (
        `That would make ${refusal.total} rounds; a salon has at most ${refusal.max}. ` +
        `It has ${refusal.current} now, so you can add up to ${refusal.max - refusal.current}.`
      );
    case 'already_paused':
      return 'This salon is already paused. Use `/salon resume` to carry on.';
    case 'nothing_to_pause':
      return 'This salon has finished; there is nothing to pause.';
    case 'already_running':
      return 'This salon is already running.';
    case 'all_rounds_done':
      return 'This salon has finished all its rounds.';
    case 'budget_below_spent':
      return `This salon has spent ${formatUSD(refusal.spent)} already; a budget of ${formatUSD(refusal.budget)} would stop it again at once. Give more.`;
    case 'budget_spent':
      return (
        `This salon has spent ${formatUSD(refusal.spent)} of its ${formatUSD(refusal.budget)} budget. ` +
        'Resume with a higher one: `/salon resume budget:<dollars>`.'
      );
    case 'salon_exists':
      return 'There is already a salon here.';
    case 'no_salon':
      return 'There is no salon here.';
    case 'not_a_thread':
      return `This is not a salon thread. ${where(refusal.command)}`;
    case 'thread_not_salon':
      return `This thread is not a salon. ${where(refusal.command)}`;
    case 'empty_text':
      return `The ${TEXT_FIELDS[refusal.field]} is empty. Write a few words.`;
    case 'text_too_long':
      return (
        `The ${TEXT_FIELDS[refusal.field]} is ${refusal.length.toLocaleString('en-US')} characters long; ` +
        `the limit is ${refusal.max.toLocaleString('en-US')}. Shorten it and try again.`
      );
    case 'not_whole_number':
      return `The ${NUMBER_FIELDS[refusal.field]} must be a whole number from ${refusal.min} to ${refusal.max.toLocaleString('en-US')}.`;
    case 'channel_not_allowed':
      return `Salons can only be started in ${refusal.channelIds.map((id) => `<#${id}>`).join(', ')} on this server (access.channels).`;
    case 'role_required':
      return `Starting a salon needs one of these roles: ${refusal.roleIds.map((id) => `<@&${id}>`).join(', ')} (access.startRoles).`;
    case 'guild_cap':
      return (
        `This server already has ${salons(refusal.active)} running or paused, the most it allows (access.maxActivePerGuild). ` +
        'Close one with `/salon close` first.'
      );
    case 'user_cap':
      return (
        `You already have ${salons(refusal.active)} running or paused, the most one person may have at once (access.maxActivePerUser). ` +
        'Close one with `/salon close` first.'
      );
    case 'not_controller':
      return `Only ${refusal.starter} (who started this salon) or members with the Manage Threads permission can ${refusal.command} it.`;
    case 'unknown_speaker': {
      const [a, b] = refusal.names;
      return `This salon has no speaker "${refusal.wanted}". Put your question to ${a} or ${b}, or leave \`to\` empty for whoever speaks next.`;
    }
    case 'unknown_model': {
      const list = refusal.models.map((m) => `\`${m.key}\` (${m.name})`).join(', ');
      return `There is no model "${cutOnWord(refusal.wanted, 60)}" for ${refusal.option}. Available: ${list}.`;
    }
    case 'bot_lacks_permissions':
      return `I need these permissions in <#${refusal.channelId}> to host a salon: ${refusal.missing.join(', ')}. Ask a moderator to grant them.`;
    case 'budget_out_of_range':
      return `The budget must be between $${refusal.min} and $${refusal.max}${refusal.operatorCeiling ? ' (salon.maxBudgetUSD)' : ''}.`;
    case 'not_a_text_channel':
      return 'Start a salon in a server text channel; it opens its own thread there.';
    case 'fork_no_channel':
      return 'This salon’s thread is not in a text channel, so there is nowhere to fork it.';
    case 'fork_too_many_rounds':
      return `A salon has at most ${refusal.max} rounds; ${refusal.carried} carried over plus ${refusal.rounds} is too many.`;
  }
}
