import { describe, expect, it } from 'vitest';
import { SalonError, type ModelFailure, type Refusal } from '../../src/domain/errors.js';
import { createSalon, type Notice } from '../../src/domain/salon.js';
import { recordFailure } from '../../src/domain/transitions.js';
import {
  budgetSetReply,
  extendedReply,
  forkedReply,
  headerText,
  modelFailureText,
  noticeText,
  postFailureText,
  refusalText,
  resumedReply,
  seatName,
  startedReply,
  statusText,
  synthesisHeader,
  turnHeader,
  UNEXPECTED_FAILURE_REPLY,
  warning,
  type PostFailure,
} from '../../src/wording/index.js';

describe('noticeText', () => {
  it.each<[Notice, string]>([
    [
      { code: 'finished', rounds: 1, unanswered: 0, closing: false },
      'The salon has finished after 1 round. Use `/salon close` to post the transcript and archive the thread.',
    ],
    [
      { code: 'finished', rounds: 3, endedEarly: 'the last 3 turns mostly repeated what had already been said', unanswered: 2, closing: true },
      'The salon has finished after 3 rounds. It ended early: the last 3 turns mostly repeated what had already been said.' +
        ' 2 questions were asked too late to be answered. The transcript follows and the thread will be archived.',
    ],
    [
      { code: 'finished', rounds: 2, unanswered: 1, closing: false },
      'The salon has finished after 2 rounds. One question was asked too late to be answered.' +
        ' Use `/salon close` to post the transcript and archive the thread.',
    ],
    [
      { code: 'model_failed', name: 'GLM 4.7', reason: 'HTTP 401 from the endpoint' },
      '⚠️ GLM 4.7 could not take its turn: HTTP 401 from the endpoint. The salon is paused; use `/salon resume` to try again.',
    ],
    [
      { code: 'model_failed', name: 'GLM 4.7', reason: 'the endpoint had a server error (HTTP 502: Upstream overloaded)', attempts: 3 },
      '⚠️ GLM 4.7 could not take its turn after 3 tries: the endpoint had a server error (HTTP 502: Upstream overloaded).' +
        ' The salon is paused; use `/salon resume` to try again.',
    ],
    [
      { code: 'budget_spent', spent: 0.25, budget: 0.2 },
      '💸 This salon has spent $0.25 of its $0.20 budget, so it is paused. To go on, raise the budget: `/salon resume budget:<dollars>`.',
    ],
    [{ code: 'legacy', was: 'info', text: 'Words saved by schema 1, posted as they are.' }, 'Words saved by schema 1, posted as they are.'],
  ])('%j', (notice, text) => {
    expect(noticeText(notice)).toBe(text);
  });
});

describe('refusalText', () => {
  it.each<[Refusal, string]>([
    [{ code: 'closed' }, 'This salon is closed; its transcript has been posted.'],
    [{ code: 'no_turn_left' }, 'no model has a turn left in this salon, so nobody would answer. Add rounds with `/salon extend`.'],
    [
      { code: 'no_turn_left', to: 'GLM 4.7' },
      'GLM 4.7 has no turn left in this salon, so nobody would answer. Add rounds with `/salon extend` or ask without `to`.',
    ],
    [{ code: 'too_many_rounds', total: 31, max: 30, current: 25 }, 'That would make 31 rounds; a salon has at most 30. It has 25 now, so you can add up to 5.'],
    [
      { code: 'budget_spent', spent: 1.5, budget: 1 },
      'This salon has spent $1.50 of its $1.00 budget. Resume with a higher one: `/salon resume budget:<dollars>`.',
    ],
    [{ code: 'budget_below_spent', spent: 1.5, budget: 1 }, 'This salon has spent $1.50 already; a budget of $1.00 would stop it again at once. Give more.'],
    [{ code: 'text_too_long', field: 'topic', length: 12345, max: 1000 }, 'The topic is 12,345 characters long; the limit is 1,000. Shorten it and try again.'],
    [{ code: 'not_whole_number', field: 'rounds_to_add', min: 1, max: 1000 }, 'The number of rounds to add must be a whole number from 1 to 1,000.'],
    [{ code: 'not_a_thread', command: 'pause' }, "This is not a salon thread. Use `/salon pause` inside a salon's thread (start one with `/salon start`)."],
    [
      { code: 'guild_cap', active: 1 },
      'This server already has 1 salon running or paused, the most it allows (access.maxActivePerGuild). Close one with `/salon close` first.',
    ],
    [
      { code: 'user_cap', active: 2 },
      'You already have 2 salons running or paused, the most one person may have at once (access.maxActivePerUser). Close one with `/salon close` first.',
    ],
    [{ code: 'channel_not_allowed', channelIds: ['1', '2'] }, 'Salons can only be started in <#1>, <#2> on this server (access.channels).'],
    [{ code: 'role_required', roleIds: ['3'] }, 'Starting a salon needs one of these roles: <@&3> (access.startRoles).'],
    [
      { code: 'bot_lacks_permissions', channelId: '9', missing: ['Attach Files', 'Manage Threads'] },
      'I need these permissions in <#9> to host a salon: Attach Files, Manage Threads. Ask a moderator to grant them.',
    ],
    [
      { code: 'unknown_model', wanted: 'gpt', option: 'model_a', models: [{ key: 'glm', name: 'GLM 4.7' }] },
      'There is no model "gpt" for model_a. Available: `glm` (GLM 4.7).',
    ],
    [{ code: 'budget_out_of_range', min: 0.01, max: 5, operatorCeiling: true }, 'The budget must be between $0.01 and $5 (salon.maxBudgetUSD).'],
  ])('%j', (refusal, text) => {
    expect(refusalText(refusal)).toBe(text);
  });

  it('a SalonError carries its refusal as data, and says it in its message for the logs', () => {
    const err = new SalonError({ code: 'too_many_rounds', total: 31, max: 30, current: 25 });
    expect(err.code).toBe('too_many_rounds');
    expect(err.message).toBe('too_many_rounds {"total":31,"max":30,"current":25}');
    expect(new SalonError({ code: 'closed' }).message).toBe('closed');
  });
});

describe('modelFailureText', () => {
  it.each<[ModelFailure, string]>([
    [{ code: 'http_status', status: 502, message: 'Upstream overloaded' }, 'the endpoint had a server error (HTTP 502: Upstream overloaded)'],
    [{ code: 'http_status', status: 401 }, 'the API key was refused (HTTP 401)'],
    [
      { code: 'error_in_reply', where: 'body', errorCode: 502, message: 'Upstream overloaded' },
      'the endpoint answered with an error instead of a reply (502: Upstream overloaded)',
    ],
    [{ code: 'error_in_reply', where: 'stream' }, 'the endpoint sent an error in the middle of the reply'],
    [{ code: 'cut_short', characters: 1234 }, 'the reply stopped before it was finished: the stream ended after 1,234 characters without a finish reason'],
    [
      { code: 'no_room_to_reply', modelKey: 'glm', maxTokens: 1024, reasoning: true },
      'its reasoning used the whole maxTokens (1,024 tokens) before writing a word of the reply; raise `models.glm.maxTokens` in the config',
    ],
    [
      { code: 'no_room_to_reply', modelKey: 'glm', maxTokens: 16, reasoning: false },
      'it reached maxTokens (16 tokens) before writing a word of the reply; raise `models.glm.maxTokens` in the config',
    ],
    [{ code: 'timeout', seconds: 120 }, 'no reply within 120 s'],
    [{ code: 'timeout', seconds: 0.5 }, 'no reply within 0.5 s'],
    [{ code: 'timeout', seconds: 4873.2841 / 1000 }, 'no reply within 4.873 s'],
    [{ code: 'timeout', seconds: 3600 }, 'no reply within 3600 s'],
    [{ code: 'empty_reply', name: 'GLM 4.7', finishReason: 'stop' }, 'GLM 4.7 returned an empty reply (finish reason: stop)'],
    [{ code: 'not_in_config', modelKey: 'glm' }, 'no model "glm" in the config'],
    [{ code: 'not_in_config', modelKey: 'glm', by: 'seat' }, 'the model "glm" is no longer in the config'],
    [{ code: 'not_in_config', modelKey: 'glm', by: 'synthesizer' }, 'the model "glm" is not in the config'],
    [{ code: 'budget_spent', budget: 0.05 }, 'the salon had spent its $0.05 budget'],
    [{ code: 'unexpected' }, 'an unexpected error on our side'],
  ])('%j', (failure, text) => {
    expect(modelFailureText(failure)).toBe(text);
  });
});

describe('statusText while a turn is retried', () => {
  const T0 = Date.parse('2026-12-01T12:00:00Z');
  const salon = () =>
    createSalon(
      {
        id: '1',
        starter: { id: '2', name: 'Ada' },
        topic: 'Persistence',
        seats: [
          { key: 'claude', name: 'Claude Opus 4.5', model: 'a' },
          { key: 'glm', name: 'GLM 4.7', model: 'b' },
        ],
        rounds: 2,
        delaySeconds: 0,
      },
      T0,
    );
  const policy = { maxAttempts: 3, backoffMs: () => 30_000 };

  it('says which model, which try comes next and when, and why the last one failed', () => {
    const s = salon();
    recordFailure(s, { seat: 0, reason: 'the endpoint had a server error (HTTP 502: Upstream overloaded)', permanent: false }, T0, policy);
    const text = statusText(s, T0 + 1_000);
    expect(text).toContain(`**Retrying:** Claude Opus 4.5, try 2 of 3, <t:${(T0 + 30_000) / 1000}:R>`);
    expect(text).toContain('**Last try failed:** the endpoint had a server error (HTTP 502: Upstream overloaded)');
    expect(text).not.toContain('**Next turn:**');
    // Once the next try is due, it is "now".
    expect(statusText(s, T0 + 30_000)).toContain('**Retrying:** Claude Opus 4.5, try 2 of 3, now');
  });

  it('a record saved before the attempts allowed were kept says the try without "of"', () => {
    const s = salon();
    recordFailure(s, { seat: 0, reason: 'no reply within 120 s', permanent: false }, T0, policy);
    delete s.failure!.maxAttempts;
    expect(statusText(s, T0)).toContain('**Retrying:** Claude Opus 4.5, try 2, ');
  });

  it('shows the next turn plainly when nothing failed', () => {
    expect(statusText(salon(), T0)).toContain('**Next turn:** Claude Opus 4.5, now');
  });
});

describe('headerText', () => {
  const T0 = Date.parse('2026-12-01T12:00:00Z');
  const seats = [
    { key: 'claude', name: 'Claude Opus 4.5', model: 'a' },
    { key: 'glm', name: 'GLM 4.7', model: 'b' },
  ];

  it('names the topic, who speaks first and who answers, the rounds and the pace, and who started it', () => {
    const salon = createSalon({ id: '1', starter: { id: '2', name: 'Ada' }, topic: 'Persistence', seats, rounds: 3, delaySeconds: 90 }, T0);
    expect(headerText(salon)).toEqual({
      title: 'Salon: Persistence',
      description: 'Persistence',
      fields: [
        { name: 'Speaks first', value: '**Claude Opus 4.5**\n`a`', inline: true },
        { name: 'Answers', value: '**GLM 4.7**\n`b`', inline: true },
        { name: 'Rounds', value: '3 (1 minute 30 seconds between turns)', inline: false },
      ],
      footer: 'Started by Ada · write in this thread (or use /salon ask) to put a question to the next speaker',
    });
  });

  it('says where a fork comes from and how many turns it carried over', () => {
    const origin = { salonId: 'p', threadId: '77', fromRound: 1, topic: 'Persistence' };
    const fork = createSalon(
      { id: '1', starter: { id: '2', name: 'Ada' }, topic: 'Persistence', seats, rounds: 3, delaySeconds: 0, fork: { origin, turns: [] } },
      T0,
    );
    expect(headerText(fork).fields.at(-1)).toEqual({
      name: 'Forked from',
      value: '<#77>, after round 1: 0 turns carried over as history (not posted again here).',
    });
    expect(headerText(fork).fields[2]!.value).toBe('3 (no pause between turns)');
  });
});

describe('command replies', () => {
  it.each<[string, string]>([
    [extendedReply({ by: '<@42>', added: 1, total: 4 }), '➕ <@42> added 1 round: the salon now has 4.'],
    [extendedReply({ by: '<@42>', added: 2, total: 5, nextSpeaker: 'GLM 4.7' }), '➕ <@42> added 2 rounds: the salon now has 5. GLM 4.7 speaks next.'],
    [budgetSetReply('<@42>', 2.5), '💰 <@42> set the budget to $2.50.'],
    [resumedReply({ by: '<@42>', budgetUSD: 3, nextSpeaker: 'GLM 4.7' }), '▶️ Resumed by <@42>. The budget is now $3.00. GLM 4.7 speaks next.'],
    [
      forkedReply({ fromRound: 2, thread: '<#77>', names: ['Claude Opus 4.5', 'GLM 4.7'], rounds: 1, direction: 'What about memory?' }),
      '🍴 Forked after round 2 into <#77>: **Claude Opus 4.5** and **GLM 4.7**, 1 more round. Direction: “What about memory?”',
    ],
    [
      startedReply({ names: ['Claude Opus 4.5', 'GLM 4.7'], thread: '<#77>', rounds: 3, budgetUSD: 0.5 }),
      '🎙️ A salon between **Claude Opus 4.5** and **GLM 4.7** has begun in <#77>: 3 rounds, a budget of $0.50. Join the thread to watch and ask questions.',
    ],
    [warning(UNEXPECTED_FAILURE_REPLY), '⚠️ Something went wrong on our side; nothing was changed. Try again in a moment.'],
  ])('%s', (reply, text) => {
    expect(reply).toBe(text);
  });
});

describe('postFailureText', () => {
  it.each<[PostFailure, string]>([
    [{ code: 'thread_gone', message: 'Unknown Channel' }, "the salon's thread is gone: Unknown Channel"],
    [{ code: 'thread_not_found', threadId: '77' }, "the salon's thread 77 is gone"],
    [{ code: 'refused', message: 'Missing Access', discordCode: 50001 }, 'Discord refused the post: Missing Access (code 50001)'],
    [{ code: 'failed', message: 'socket hang up' }, 'posting failed: socket hang up'],
    [{ code: 'turn_missing', turnIndex: 3 }, 'turn 3 is missing from the record'],
  ])('%j', (failure, text) => {
    expect(postFailureText(failure)).toBe(text);
  });
});

describe('the lines around what the models say', () => {
  it('names the speaker and the round as the bot posts a turn, and who wrote the synthesis', () => {
    expect(turnHeader('GLM 4.7', 2, 3)).toBe('**GLM 4.7** · round 2 of 3\n');
    expect(synthesisHeader('Claude Opus 4.5')).toBe('**Synthesis** · by Claude Opus 4.5\n');
    expect(synthesisHeader()).toBe('**Synthesis**\n');
    expect(seatName('GLM 4.7', 2)).toBe('GLM 4.7 (2)');
  });
});
