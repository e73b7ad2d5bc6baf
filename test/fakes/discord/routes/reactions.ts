// The bot's own reactions: add, remove, list who reacted.

import { Errors } from '../api-error.js';
import { Permission } from '../constants.js';
import type { ApiRequest, ApiResponse, Core } from '../core.js';
import type { Route } from '../router.js';
import { botMemberPayload, emojiPayload, userPayload } from '../serialize.js';
import type { StoredChannel, StoredMessage } from '../types.js';
import { requirePermission, visibleChannel } from './channels.js';

const BASE = '/channels/:channel_id/messages/:message_id/reactions/:emoji';

export const reactionRoutes: Route[] = [
  { method: 'PUT', pattern: `${BASE}/@me`, auth: 'bot', handle: addReaction },
  { method: 'DELETE', pattern: `${BASE}/@me`, auth: 'bot', handle: removeReaction },
  {
    method: 'GET',
    pattern: BASE,
    auth: 'bot',
    handle: (req, core) => {
      const { message, emoji } = target(core, req);
      const users = message.reactions
        .filter((r) => r.emoji === emoji)
        .flatMap((r) => {
          const user = core.state.user(r.userId);
          return user ? [userPayload(user)] : [];
        });
      return { status: 200, body: users };
    },
  },
];

function target(core: Core, req: ApiRequest): { channel: StoredChannel; message: StoredMessage; emoji: string } {
  const channel = visibleChannel(core, req);
  requirePermission(core, channel, Permission.ReadMessageHistory);
  const message = core.state.findMessage(channel.id, req.params.message_id ?? '');
  return { channel, message, emoji: req.params.emoji ?? '' };
}

/** Adding a reaction nobody has made yet needs Add Reactions; joining an existing one does not. */
function addReaction(req: ApiRequest, core: Core): ApiResponse {
  const { channel, message, emoji } = target(core, req);
  if (channel.thread_metadata?.archived) throw Errors.threadArchived(400);
  const botId = core.state.botUser.id;
  if (!message.reactions.some((r) => r.emoji === emoji)) requirePermission(core, channel, Permission.AddReactions);
  const guild = message.guild_id ? core.state.guilds.get(message.guild_id) : undefined;
  if (!message.reactions.some((r) => r.emoji === emoji && r.userId === botId)) {
    message.reactions.push({ emoji, userId: botId });
    core.dispatch('MESSAGE_REACTION_ADD', {
      user_id: botId,
      channel_id: message.channel_id,
      message_id: message.id,
      ...(guild ? { guild_id: guild.id, member: botMemberPayload(core.state, guild) } : {}),
      emoji: emojiPayload(emoji),
      message_author_id: message.author.id,
      burst: false,
      type: 0,
    });
    core.changed();
  }
  return { status: 204 };
}

function removeReaction(req: ApiRequest, core: Core): ApiResponse {
  const { message, emoji } = target(core, req);
  const botId = core.state.botUser.id;
  const index = message.reactions.findIndex((r) => r.emoji === emoji && r.userId === botId);
  if (index >= 0) {
    message.reactions.splice(index, 1);
    core.dispatch('MESSAGE_REACTION_REMOVE', {
      user_id: botId,
      channel_id: message.channel_id,
      message_id: message.id,
      ...(message.guild_id ? { guild_id: message.guild_id } : {}),
      emoji: emojiPayload(emoji),
      burst: false,
      type: 0,
    });
    core.changed();
  }
  return { status: 204 };
}
