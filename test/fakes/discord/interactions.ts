// Delivering interactions to the bot (INTERACTION_CREATE) and following what
// it answers. The payloads carry what discord.js 14 needs: the `channel`
// object (it ignores `channel_id` alone), `entitlements`,
// `authorizing_integration_owners`, `app_permissions` and the member.

import { InteractionType, MessageFlag, OptionType } from './constants.js';
import type { Core } from './core.js';
import { channelPayload, memberPayload, messagePayload, userPayload, type Json } from './serialize.js';
import { randomToken, shardOf } from './snowflake.js';
import type { GuildState, InteractionRecord } from './state.js';
import type {
  AutocompleteChoice,
  AutocompleteInput,
  CommandOption,
  ComponentInput,
  InteractInput,
  InteractionResponseView,
  Member,
  OptionValue,
  RegisteredCommand,
  Snowflake,
  StoredChannel,
  StoredMessage,
} from './types.js';
import { DEFAULT_WAIT_MS } from './waiter.js';

/** The test's view of one delivered interaction. */
export class InteractionHandle {
  constructor(
    private readonly core: Core,
    /** @internal */ readonly record: InteractionRecord,
    readonly label: string,
  ) {}

  get id(): string {
    return this.record.id;
  }

  get token(): string {
    return this.record.token;
  }

  /** When the fake dispatched INTERACTION_CREATE (ms since epoch). */
  get receivedAt(): number {
    return this.record.receivedAt;
  }

  /** When the callback arrived, or null. Discord requires it within 3 s of `receivedAt`. */
  get ackedAt(): number | null {
    return this.record.ackedAt;
  }

  /** The callback type used (4 reply, 5 defer, 6 deferred update, 7 update, 8 autocomplete), or null. */
  get callbackType(): number | null {
    return this.record.callbackType;
  }

  /** Whether the bot deferred (type 5, or 6 for components). */
  get deferred(): boolean {
    return this.record.callbackType === 5 || this.record.callbackType === 6;
  }

  get expired(): boolean {
    return this.record.expired;
  }

  /** The response as it is now, or undefined before the callback. */
  current(): InteractionResponseView | undefined {
    return this.record.original ? responseView(this.record.original) : undefined;
  }

  /**
   * The first visible response: a type 4 reply at once; after a type 5 defer,
   * the state after the first edit of @original (or the first follow-up, which
   * Discord uses to replace the "thinking…" message).
   */
  response(timeoutMs = DEFAULT_WAIT_MS): Promise<InteractionResponseView> {
    return this.core.notifier.waitFor(
      () => {
        const { original, callbackType, ackedAt } = this.record;
        if (!original || callbackType === null) return undefined;
        switch (callbackType) {
          case 4:
          case 7:
            return responseView(original);
          case 5:
            return original.edits > 0 ? responseView(original) : undefined;
          case 6:
            return original.editedAt.some((at) => at >= (ackedAt ?? 0)) ? responseView(original) : undefined;
          default:
            return undefined;
        }
      },
      { timeoutMs, description: `a response to ${this.label}` },
    );
  }

  /** The first `count` follow-up messages, once that many exist. */
  followups(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<InteractionResponseView[]> {
    return this.core.notifier.waitFor(() => (this.record.followups.length >= count ? this.record.followups.slice(0, count).map(responseView) : undefined), {
      timeoutMs,
      description: `${count} follow-up(s) to ${this.label}`,
    });
  }
}

export function responseView(message: StoredMessage): InteractionResponseView {
  return structuredClone({
    messageId: message.id,
    content: message.content,
    flags: message.flags,
    ephemeral: (message.flags & MessageFlag.Ephemeral) !== 0,
    embeds: message.embeds,
    attachments: message.attachments,
    components: message.components,
    edits: message.edits,
  });
}

// ------------------------------------------------------------ delivery

/** Where an interaction or a user's message comes from: the channel, its guild (null in DMs) and the user's membership there. */
export interface Place {
  channel: StoredChannel;
  guild: GuildState | null;
  member: Member;
}

/**
 * Resolves the channel (given, else the first text channel of the given guild, else of the guild of the
 * membership passed) and the user's membership of its guild. A user who is not a member there is a bug in
 * the test that Discord would never produce, so it throws.
 */
export function resolvePlace(core: Core, user: Member, where: { channelId?: Snowflake; guildId?: Snowflake; inDM?: boolean }): Place {
  const { state } = core;
  if (where.inDM) return { channel: state.dmChannelFor(user, core.ids), guild: null, member: user };
  const channel = where.channelId !== undefined ? state.liveChannel(where.channelId) : state.defaultChannel(where.guildId ?? user.guildId);
  if (channel.guild_id === null) return { channel, guild: null, member: user };
  if (where.guildId !== undefined && where.guildId !== channel.guild_id) {
    throw new Error(`fake-discord: channel ${channel.id} is in guild ${channel.guild_id}, not ${where.guildId}`);
  }
  const guild = state.liveGuild(channel.guild_id);
  const member = state.member(guild.id, user.id);
  if (!member) {
    throw new Error(`fake-discord: ${user.user.username} is not a member of guild ${guild.id}; addMember({ id, username, guildId }) first`);
  }
  return { channel, guild, member };
}

export function deliverCommand(core: Core, input: InteractInput): InteractionHandle {
  const place = resolvePlace(core, input.user, input);
  const data = commandData(core, input, place.guild);
  const { record, payload } = baseInteraction(core, place, InteractionType.ApplicationCommand, input.locale, data);
  const label = `/${[input.name, input.subcommandGroup, input.subcommand].filter(Boolean).join(' ')}`;
  core.dispatch('INTERACTION_CREATE', payload);
  core.changed();
  return new InteractionHandle(core, record, label);
}

export async function deliverAutocomplete(core: Core, input: AutocompleteInput): Promise<AutocompleteChoice[]> {
  const place = resolvePlace(core, input.user, input);
  const data = commandData(core, input, place.guild, { name: input.focused, value: input.value });
  const { record, payload } = baseInteraction(core, place, InteractionType.ApplicationCommandAutocomplete, input.locale, data);
  core.dispatch('INTERACTION_CREATE', payload);
  core.changed();
  return core.notifier.waitFor(() => record.choices ?? undefined, {
    timeoutMs: input.timeoutMs ?? DEFAULT_WAIT_MS,
    description: `autocomplete choices for /${input.name} ${input.subcommand ?? ''} (${input.focused})`,
  });
}

export function deliverComponent(core: Core, input: ComponentInput): InteractionHandle {
  const componentType = input.componentType ?? 2;
  const data: Json = {
    custom_id: input.customId,
    component_type: componentType,
    ...(input.values ? { values: input.values } : {}),
  };
  const place = resolvePlace(core, input.user, { channelId: input.message.channel_id });
  const { record, payload } = baseInteraction(core, place, InteractionType.MessageComponent, undefined, data);
  record.sourceMessageId = input.message.id;
  payload.message = messagePayload(core.state.findMessage(input.message.channel_id, input.message.id), core.state);
  core.dispatch('INTERACTION_CREATE', payload);
  core.changed();
  return new InteractionHandle(core, record, `component ${input.customId}`);
}

function baseInteraction(
  core: Core,
  { channel, guild, member: user }: Place,
  type: number,
  locale: string | undefined,
  data: Json,
): { record: InteractionRecord; payload: Json } {
  const { state } = core;
  requireReceiver(core, guild);
  const record: InteractionRecord = {
    id: core.ids.next(),
    token: `aW50ZXJhY3Rpb246${randomToken(120)}`,
    type,
    applicationId: state.botUser.id,
    channelId: channel.id,
    guildId: guild?.id ?? null,
    user,
    receivedAt: Date.now(),
    ackedAt: null,
    callbackType: null,
    expired: false,
    original: null,
    followups: [],
    choices: null,
    sourceMessageId: null,
  };
  state.interactions.set(record.id, record);
  const memberPermissions = guild ? state.permissionsOf(guild.id, user.id).toString() : '0';
  const payload: Json = {
    id: record.id,
    application_id: record.applicationId,
    type,
    token: record.token,
    version: 1,
    channel_id: channel.id,
    channel: { ...channelPayload(channel, state), ...(guild ? { permissions: memberPermissions } : {}) },
    app_permissions: state.botPermissionsIn(channel).toString(),
    locale: locale ?? 'en-US',
    entitlements: [],
    authorizing_integration_owners: guild ? { '0': guild.id } : { '1': user.id },
    context: guild ? 0 : 1,
    attachment_size_limit: 10 * 1024 * 1024,
    data,
    ...(guild
      ? {
          guild_id: guild.id,
          guild: { id: guild.id, locale: 'en-US', features: [] },
          guild_locale: 'en-US',
          member: { ...memberPayload(user), permissions: memberPermissions },
        }
      : { user: userPayload(user.user) }),
  };
  return { record, payload };
}

/** An interaction no session would receive would only time out later; say why now. */
function requireReceiver(core: Core, guild: GuildState | null): void {
  if (core.reaches(guild?.id ?? null)) return;
  const { shards } = core.config;
  const where = guild ? `guild ${guild.id} (shard ${shardOf(guild.id, shards)} of ${shards})` : 'DMs (shard 0)';
  throw new Error(`fake-discord: no gateway session receives ${where}; connect a client for that shard first`);
}

// ------------------------------------------------------------ command options

/**
 * Builds `data` for a chat-input command. Options are typed from the
 * registered definition when there is one (a test naming an option or
 * subcommand the definition lacks, or leaving out a required one, has a bug
 * Discord would never let through, so that throws); otherwise the type is
 * inferred from the JS value.
 */
function commandData(core: Core, input: InteractInput, guild: GuildState | null, focused?: { name: string; value: string }): Json {
  const matching = core.state.commands().filter((c) => c.name === input.name && c.type === 1 && (!c.guild_id || c.guild_id === guild?.id));
  // A guild command (of this guild) shadows a global one of the same name.
  const command = matching.find((c) => c.guild_id) ?? matching[0];
  const definitions = command ? optionDefinitions(command, input) : undefined;
  const resolved: Record<string, Record<string, unknown>> = {};

  const values: Array<[string, OptionValue]> = Object.entries(input.options ?? {});
  if (focused && !values.some(([name]) => name === focused.name)) values.push([focused.name, focused.value]);
  const leaves: Json[] = values.map(([name, value]) => {
    const definition = definitions?.find((o) => o.name === name);
    if (definitions && !definition) throw new Error(`fake-discord: /${input.name} has no option "${name}"`);
    const type = definition?.type ?? inferType(value);
    addResolved(core, guild, type, value, resolved);
    // Discord sends the focused option's partial input as typed, as a string.
    return focused?.name === name ? { type, name, value: focused.value, focused: true } : { type, name, value };
  });
  for (const option of focused ? [] : (definitions ?? [])) {
    if (option.required && !values.some(([name]) => name === option.name)) {
      throw new Error(`fake-discord: /${input.name} requires option "${option.name}"`);
    }
  }

  let options: Json[] = leaves;
  if (input.subcommand) options = [{ type: OptionType.Subcommand, name: input.subcommand, options }];
  if (input.subcommandGroup) options = [{ type: OptionType.SubcommandGroup, name: input.subcommandGroup, options }];
  return {
    id: command?.id ?? core.ids.next(),
    name: input.name,
    type: 1,
    ...(command?.guild_id ? { guild_id: command.guild_id } : {}),
    options,
    ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
  };
}

/** The option definitions at the invoked (sub)command level. */
function optionDefinitions(command: RegisteredCommand, input: InteractInput): CommandOption[] {
  let level = command.options;
  const descend = (type: number, name: string): void => {
    const found = level.find((o) => o.type === type && o.name === name);
    if (!found) {
      const kind = type === OptionType.Subcommand ? 'subcommand' : 'subcommand group';
      throw new Error(`fake-discord: /${command.name} has no ${kind} "${name}"`);
    }
    level = found.options ?? [];
  };
  if (input.subcommandGroup) descend(OptionType.SubcommandGroup, input.subcommandGroup);
  if (input.subcommand) descend(OptionType.Subcommand, input.subcommand);
  return level;
}

function inferType(value: OptionValue): number {
  if (typeof value === 'boolean') return OptionType.Boolean;
  if (typeof value === 'number') return Number.isInteger(value) ? OptionType.Integer : OptionType.Number;
  return OptionType.String;
}

/** User and channel options carry their objects in `data.resolved`, which discord.js reads. */
function addResolved(core: Core, guild: GuildState | null, type: number, value: OptionValue, resolved: Record<string, Record<string, unknown>>): void {
  const id = String(value);
  if (type === OptionType.User || type === OptionType.Mentionable) {
    const user = core.state.user(id);
    if (!user) return;
    (resolved.users ??= {})[id] = userPayload(user);
    const member = guild ? core.state.member(guild.id, id) : undefined;
    if (guild && member) (resolved.members ??= {})[id] = { ...memberPayload(member, false), permissions: core.state.permissionsOf(guild.id, id).toString() };
  } else if (type === OptionType.Channel) {
    const channel = core.state.channels.get(id);
    if (channel && !channel.deleted) (resolved.channels ??= {})[id] = { ...channelPayload(channel, core.state), permissions: '0' };
  }
}
