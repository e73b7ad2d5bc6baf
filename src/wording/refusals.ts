/** What the bot says to the one person whose request it refuses: what is wrong, and what to do instead. */
import type { NumberField, Refusal, TextField } from '../domain/errors.js';
import { formatUSD } from '../domain/ledger.js';
import { cutOnWord, listOf } from '../domain/text.js';

/** How a refusal, or any other warning, is marked when it is said. */
export function warning(text: string): string {
  return `⚠️ ${text}`;
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

/** What a controlling command does to a salon, where its name does not say it ("can pause it"). */
const CONTROL_VERBS: Record<string, string> = { next: 'choose who speaks next in' };

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
    case 'not_controller': {
      const verb = CONTROL_VERBS[refusal.command] ?? refusal.command;
      return `Only ${refusal.starter} (who started this salon) or members with the Manage Threads permission can ${verb} it.`;
    }
    case 'unknown_speaker': {
      const names = listOf(refusal.names, 'or');
      const wanted = cutOnWord(refusal.wanted, 60);
      if (refusal.command === 'next') return `This salon has no speaker "${wanted}". Choose ${names}.`;
      return `This salon has no speaker "${wanted}". Put your question to ${names}, or leave \`to\` empty for whoever speaks next.`;
    }
    case 'unknown_panel':
      return refusal.panels.length > 0
        ? `There is no panel "${cutOnWord(refusal.wanted, 60)}". Available: ${refusal.panels.map((p) => `\`${p}\``).join(', ')}.`
        : `There is no panel "${cutOnWord(refusal.wanted, 60)}": this server's config defines none. Choose the models with \`model_a\`…\`model_f\`.`;
    case 'panel_with_models':
      return `\`panel\` chooses every seat; leave ${refusal.options.map((o) => `\`${o}\``).join(', ')} empty, or choose the models without a panel.`;
    case 'seat_gap':
      return `Seats are filled in order: give \`${refusal.missing}\` before \`${refusal.option}\`.`;
    case 'no_moderator':
      return (
        'Moderated order needs a moderator model, and this server’s config names none (`salon.moderator`). ' +
        'Use `order:round-robin`, or ask the operator to set one.'
      );
    case 'seat_spoke':
      return refusal.speaking
        ? `${refusal.name} is speaking now; choose someone who has not spoken in round ${refusal.round}.`
        : `${refusal.name} has already spoken in round ${refusal.round}; every seat speaks once a round. Choose someone who has not spoken yet.`;
    case 'not_shared':
      return 'This salon is not shared on the web; there is nothing to unshare.';
    case 'sharing_off':
      return refusal.reason === 'config'
        ? 'Sharing salons on the web is turned off on this server (`web.sharing: false` in the config).'
        : 'This bot runs no web server, so there is nowhere to share the salon (the operator sets `SALON_WEB_PORT`).';
    case 'no_turn_to_choose':
      return 'Every turn left in this salon already has its speaker. Add rounds with `/salon extend`, then choose.';
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

/** The permissions a salon may need, as Discord's settings name them; the keys are discord.js's PermissionFlagsBits. */
export const PERMISSION_NAMES = {
  ViewChannel: 'View Channel',
  CreatePublicThreads: 'Create Public Threads',
  SendMessagesInThreads: 'Send Messages in Threads',
  EmbedLinks: 'Embed Links',
  AttachFiles: 'Attach Files',
  ReadMessageHistory: 'Read Message History',
  ManageThreads: 'Manage Threads',
} as const;
