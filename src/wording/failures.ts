/** Why something could not be done for a salon: a model request that failed, and a post Discord would not take. */
import type { ModelFailure } from '../domain/errors.js';
import { formatUSD } from '../domain/ledger.js';

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

/** Seconds as people read them: 120, 0.5, 1.25; never a float's tail (a deadline worked out in ms may carry one). */
function seconds(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3, useGrouping: false });
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
      return `no reply within ${seconds(failure.seconds)} s`;
    case 'empty_reply':
      return `${failure.name} returned an empty reply${failure.finishReason ? ` (finish reason: ${failure.finishReason})` : ''}`;
    case 'no_room_to_reply': {
      const key = `models.${failure.modelKey}.maxTokens`;
      const spent = failure.reasoning ? 'its reasoning used the whole maxTokens' : 'it reached maxTokens';
      return `${spent} (${failure.maxTokens.toLocaleString('en-US')} tokens) before writing a word of the reply; raise \`${key}\` in the config`;
    }
    case 'not_in_config':
      if (failure.by === 'seat') return `the model "${failure.modelKey}" is no longer in the config`;
      if (failure.by === 'synthesizer') return `the model "${failure.modelKey}" is not in the config`;
      return `no model "${failure.modelKey}" in the config`;
    case 'budget_spent':
      return `the salon had spent its ${formatUSD(failure.budget)} budget`;
    case 'unexpected':
      return 'an unexpected error on our side';
  }
}

/** Why a post could not be made in a salon's thread, as data: the Discord adapter says what happened. */
export type PostFailure =
  /** Discord answered that the thread is unknown; `message` is its own account. */
  | { code: 'thread_gone'; message: string }
  /** The thread could not be found at all. */
  | { code: 'thread_not_found'; threadId: string }
  /** Discord refused the post; `message` and `discordCode` are its own. */
  | { code: 'refused'; message: string; discordCode: number | string }
  /** Anything else that kept the post from going out. */
  | { code: 'failed'; message: string }
  /** The record has no turn for the post to show. */
  | { code: 'turn_missing'; turnIndex: number };

/** Why a post could not be made, as `/salon status` shows it when the salon paused for it. */
export function postFailureText(failure: PostFailure): string {
  switch (failure.code) {
    case 'thread_gone':
      return `the salon's thread is gone: ${failure.message}`;
    case 'thread_not_found':
      return `the salon's thread ${failure.threadId} is gone`;
    case 'refused':
      return `Discord refused the post: ${failure.message} (code ${failure.discordCode})`;
    case 'failed':
      return `posting failed: ${failure.message}`;
    case 'turn_missing':
      return `turn ${failure.turnIndex} is missing from the record`;
  }
}
