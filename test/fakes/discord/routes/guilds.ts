// Guild reads: what a process without a gateway connection (a worker that
// only posts) fetches to build discord.js Guild, GuildMember and channel
// objects. Every guild in the fake has the bot as a member.

import { Errors } from '../api-error.js';
import type { ApiRequest, Core } from '../core.js';
import type { Route } from '../router.js';
import { botMemberPayload, channelPayload, guildPayload, memberPayload, rolesPayload } from '../serialize.js';
import type { GuildState } from '../state.js';

export const guildRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/guilds/:guild_id',
    auth: 'bot',
    handle: (req, core) => ({ status: 200, body: guildPayload(core.state, pathGuild(core, req), req.query.get('with_counts') === 'true') }),
  },
  {
    method: 'GET',
    pattern: '/guilds/:guild_id/roles',
    auth: 'bot',
    handle: (req, core) => ({ status: 200, body: rolesPayload(core.state, pathGuild(core, req)) }),
  },
  {
    method: 'GET',
    pattern: '/guilds/:guild_id/channels',
    auth: 'bot',
    handle: (req, core) => {
      const guild = pathGuild(core, req);
      // Threads are not listed here, as on Discord (they come from /threads/active or /channels/{id}).
      const channels = [...core.state.channels.values()].filter((c) => c.guild_id === guild.id && !c.deleted && !c.thread_metadata);
      return { status: 200, body: channels.map((c) => channelPayload(c, core.state)) };
    },
  },
  {
    method: 'GET',
    pattern: '/guilds/:guild_id/members/:user_id',
    auth: 'bot',
    handle: (req, core) => {
      const guild = pathGuild(core, req);
      const userId = req.params.user_id ?? '';
      if (userId === core.state.botUser.id) return { status: 200, body: botMemberPayload(core.state, guild) };
      const member = core.state.member(guild.id, userId);
      if (!member) throw Errors.unknownMember();
      return { status: 200, body: memberPayload(member) };
    },
  },
];

function pathGuild(core: Core, req: ApiRequest): GuildState {
  return core.state.liveGuild(req.params.guild_id ?? '');
}
