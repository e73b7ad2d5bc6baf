// Login and application routes: gateway discovery, the bot's identity, and
// application command registration.

import { Errors } from '../api-error.js';
import type { ApiRequest, Core } from '../core.js';
import type { Route } from '../router.js';
import { applicationPayload, userPayload } from '../serialize.js';
import type { RegisteredCommand } from '../types.js';
import { commandRuleIssues, duplicateCommandIssues, normaliseCommandForSchema, prefixIssues, schemaIssues, Schemas } from '../validation.js';

export const appRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/gateway',
    auth: 'none',
    handle: (_req, core) => ({ status: 200, body: { url: core.gatewayUrl } }),
  },
  {
    method: 'GET',
    pattern: '/gateway/bot',
    auth: 'bot',
    handle: (_req, core) => ({
      status: 200,
      body: {
        url: core.gatewayUrl,
        shards: core.config.shards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      },
    }),
  },
  {
    method: 'GET',
    pattern: '/users/@me',
    auth: 'bot',
    handle: (_req, core) => ({
      status: 200,
      body: { ...userPayload(core.state.botUser), verified: true, mfa_enabled: false, locale: 'en-US' },
    }),
  },
  {
    method: 'GET',
    pattern: '/applications/@me',
    auth: 'bot',
    handle: (_req, core) => ({ status: 200, body: applicationPayload(core.state) }),
  },
  {
    method: 'GET',
    pattern: '/oauth2/applications/@me',
    auth: 'bot',
    handle: (_req, core) => ({ status: 200, body: applicationPayload(core.state) }),
  },
  {
    method: 'GET',
    pattern: '/applications/:application_id/commands',
    auth: 'bot',
    handle: (req, core) => ({ status: 200, body: scopeList(core, req, false) }),
  },
  {
    method: 'PUT',
    pattern: '/applications/:application_id/commands',
    auth: 'bot',
    handle: (req, core) => ({ status: 200, body: overwriteCommands(core, req, false) }),
  },
  {
    method: 'POST',
    pattern: '/applications/:application_id/commands',
    auth: 'bot',
    handle: (req, core) => upsertCommand(core, req, false),
  },
  {
    method: 'DELETE',
    pattern: '/applications/:application_id/commands/:command_id',
    auth: 'bot',
    handle: (req, core) => deleteCommand(core, req, false),
  },
  {
    method: 'GET',
    pattern: '/applications/:application_id/guilds/:guild_id/commands',
    auth: 'bot',
    handle: (req, core) => ({ status: 200, body: scopeList(core, req, true) }),
  },
  {
    method: 'PUT',
    pattern: '/applications/:application_id/guilds/:guild_id/commands',
    auth: 'bot',
    handle: (req, core) => ({ status: 200, body: overwriteCommands(core, req, true) }),
  },
  {
    method: 'POST',
    pattern: '/applications/:application_id/guilds/:guild_id/commands',
    auth: 'bot',
    handle: (req, core) => upsertCommand(core, req, true),
  },
  {
    method: 'DELETE',
    pattern: '/applications/:application_id/guilds/:guild_id/commands/:command_id',
    auth: 'bot',
    handle: (req, core) => deleteCommand(core, req, true),
  },
];

/** The stored list for the route's scope, after checking the ids in the path. */
function scopeList(core: Core, req: ApiRequest, guild: boolean): RegisteredCommand[] {
  if (req.params.application_id !== core.state.botUser.id) throw Errors.unknownApplication();
  if (!guild) return core.state.globalCommands;
  return core.state.guildCommandList(core.state.liveGuild(req.params.guild_id ?? '').id);
}

function overwriteCommands(core: Core, req: ApiRequest, guild: boolean): RegisteredCommand[] {
  const list = scopeList(core, req, guild);
  const body = req.body;
  if (!Array.isArray(body)) {
    core.enforce(req, [{ path: '', code: 'BASE_TYPE_ARRAY', message: 'Must be an array.' }]);
    return list;
  }
  core.enforce(req, [
    ...body.flatMap((command, index) => [
      ...prefixIssues(String(index), schemaIssues(Schemas.commandOverwrite, normaliseCommandForSchema(command))),
      ...prefixIssues(String(index), commandRuleIssues(command)),
    ]),
    ...duplicateCommandIssues(body),
  ]);
  const previous = [...list];
  const next = body.map((command) => storeCommand(core, command as Record<string, unknown>, previous, guild ? req.params.guild_id : undefined));
  list.splice(0, list.length, ...next);
  core.changed();
  return list;
}

function upsertCommand(core: Core, req: ApiRequest, guild: boolean) {
  const list = scopeList(core, req, guild);
  core.enforce(req, [...schemaIssues(Schemas.commandCreate, normaliseCommandForSchema(req.body)), ...commandRuleIssues(req.body)]);
  const command = storeCommand(core, req.body as Record<string, unknown>, list, guild ? req.params.guild_id : undefined);
  const index = list.findIndex((c) => c.id === command.id);
  if (index >= 0) list[index] = command;
  else list.push(command);
  core.changed();
  return { status: index >= 0 ? 200 : 201, body: command };
}

function deleteCommand(core: Core, req: ApiRequest, guild: boolean) {
  const list = scopeList(core, req, guild);
  const index = list.findIndex((c) => c.id === req.params.command_id);
  if (index < 0) throw Errors.unknownCommand();
  list.splice(index, 1);
  core.changed();
  return { status: 204 };
}

/** A command as Discord stores it: same id when a command of that name and type already existed. */
function storeCommand(core: Core, body: Record<string, unknown>, existing: RegisteredCommand[], guildId: string | undefined): RegisteredCommand {
  const type = typeof body.type === 'number' ? body.type : 1;
  const name = String(body.name);
  const previous = existing.find((c) => c.name === name && c.type === type);
  const permissions = body.default_member_permissions;
  return {
    ...body,
    id: previous?.id ?? core.ids.next(),
    application_id: core.state.botUser.id,
    ...(guildId ? { guild_id: guildId } : {}),
    version: core.ids.next(),
    name,
    description: typeof body.description === 'string' ? body.description : '',
    type,
    options: Array.isArray(body.options) ? (body.options as RegisteredCommand['options']) : [],
    default_member_permissions: permissions === undefined || permissions === null ? null : String(permissions),
    nsfw: body.nsfw ?? false,
  };
}
