/**
 * What starting a salon takes, shared by /salon start, /salon fork and /salon resume: models chosen by option,
 * the thread's name, the bot's permissions, the budget and the access check.
 */
import { PermissionFlagsBits, type AutocompleteInteraction, type ChatInputCommandInteraction, type TextChannel, type ThreadChannel } from 'discord.js';
import type { Config } from '../src/config/index.js';
import type { BotContext } from '../src/discord/context.js';
import { visibleText } from '../src/discord/input.js';
import { DISCORD_LIMITS } from '../src/discord/limits.js';
import { LIMITS } from '../src/domain/limits.js';
import { SalonError } from '../src/domain/errors.js';
import type { Order } from '../src/domain/order.js';
import type { Participant, SalonHead, SalonRecord, Seat } from '../src/domain/salon.js';
import { checkAccess, roleIdsOf } from '../src/discord/access.js';
import { cutOnWord } from '../src/domain/text.js';
import { auditLogReasons, PERMISSION_NAMES, seatName, STAND_IN_NAME } from '../src/wording/index.js';

/** Autocomplete choices for a model option: the configured models whose key or name matches what was typed. */
export function modelChoices(config: Config, typed: string): { name: string; value: string }[] {
  const needle = typed.trim().toLowerCase();
  return Object.values(config.models)
    .filter((m) => !needle || m.key.toLowerCase().includes(needle) || m.name.toLowerCase().includes(needle) || m.model.toLowerCase().includes(needle))
    .slice(0, 25)
    .map((m) => ({ name: cutOnWord(`${m.name} (${m.model})`, 100), value: m.key }));
}

/** Accepts a model by key or by display name, and lists the models when it is neither. */
export function resolveModel(config: Config, value: string | null, fallback: string, option: string): Participant {
  const wanted = value?.trim() || fallback;
  // hasOwn: a name like "__proto__" or "constructor" must not find something every object has.
  const model =
    (Object.hasOwn(config.models, wanted) ? config.models[wanted] : undefined) ??
    Object.values(config.models).find((m) => m.name.toLowerCase() === wanted.toLowerCase());
  if (!model) {
    const models = Object.values(config.models).map((m) => ({ key: m.key, name: m.name }));
    throw new SalonError({ code: 'unknown_model', wanted, option, models });
  }
  return { key: model.key, name: model.name, model: model.model };
}

/** A thread name from the topic: one line, at most 100 characters, cut on a word. */
export function threadName(topic: string): string {
  const name = cutOnWord(topic, DISCORD_LIMITS.threadName);
  // Keep invisible characters where they belong to what shows (emoji sequences, direction marks), but not when
  // they would leave a name that looks blank.
  if (visibleText(name).replace(/…$/, '').trim()) return name;
  return cutOnWord(visibleText(topic), DISCORD_LIMITS.threadName) || STAND_IN_NAME;
}

/** The seat options, in seat order. */
export const SEAT_OPTIONS = ['model_a', 'model_b', 'model_c', 'model_d', 'model_e', 'model_f'] as const;
export const PANEL_OPTION = 'panel';

/**
 * The seats a salon starts with: a panel from the config, or `model_a`, `model_b`, … in order, each defaulting to
 * `defaults` (the config's two models for a new salon, the parent's seats for a fork). Refused, saying why, for an
 * unknown panel or model, a panel given with seat options, or a seat option after an empty one.
 */
export function resolveSeats(interaction: ChatInputCommandInteraction, config: Config, defaults: string[]): Participant[] {
  const given = SEAT_OPTIONS.map((option) => interaction.options.getString(option));
  const panel = interaction.options.getString(PANEL_OPTION)?.trim();
  let keys: { key: string; option: string }[];
  if (panel) {
    const options = SEAT_OPTIONS.filter((_, i) => given[i] !== null);
    if (options.length > 0) throw new SalonError({ code: 'panel_with_models', options });
    const list = Object.hasOwn(config.panels, panel) ? config.panels[panel] : undefined;
    if (!list) throw new SalonError({ code: 'unknown_panel', wanted: panel, panels: Object.keys(config.panels) });
    keys = list.map((key) => ({ key, option: PANEL_OPTION }));
  } else {
    keys = [];
    SEAT_OPTIONS.forEach((option, i) => {
      const key = given[i]?.trim() || defaults[i];
      if (key === undefined) return;
      if (keys.length < i) throw new SalonError({ code: 'seat_gap', option, missing: SEAT_OPTIONS[keys.length]! });
      keys.push({ key, option });
    });
  }
  const seats = keys.map(({ key, option }) => resolveModel(config, key, key, option));
  distinctNames(seats);
  return seats;
}

/** Copies of one model must still be told apart, by the readers and by the models themselves: `GLM 4.7`, `GLM 4.7 (2)`. */
export function distinctNames(seats: Participant[]): void {
  const seen = new Map<string, number>();
  for (const seat of seats) {
    const n = (seen.get(seat.name) ?? 0) + 1;
    seen.set(seat.name, n);
    if (n > 1) seat.name = seatName(seat.name, n);
  }
}

/** The order asked for (or the config's), with the moderator it needs. */
export function resolveOrder(value: string | null, config: Config): { order: Order; moderator?: Participant } {
  const order: Order = value === 'moderated' || value === 'round-robin' ? value : config.salon.order;
  if (order === 'round-robin') return { order };
  const key = config.salon.moderator;
  if (key === undefined) throw new SalonError({ code: 'no_moderator' });
  return { order, moderator: resolveModel(config, key, key, 'salon.moderator') };
}

/** Autocomplete choices for `panel`: the config's panels whose name matches, each with its models. */
export function panelChoices(config: Config, typed: string): { name: string; value: string }[] {
  const needle = typed.trim().toLowerCase();
  return Object.entries(config.panels)
    .filter(([name]) => !needle || name.toLowerCase().includes(needle))
    .slice(0, 25)
    .map(([name, keys]) => ({ name: cutOnWord(`${name}: ${keys.map((k) => config.models[k]?.name ?? k).join(', ')}`, 100), value: name }));
}

/** Autocomplete for a model or panel option of start and fork. */
export async function seatOptionChoices(interaction: AutocompleteInteraction, config: Config): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const typed = String(focused.value);
  await interaction.respond(focused.name === PANEL_OPTION ? panelChoices(config, typed) : modelChoices(config, typed));
}

/** A seat's letter, as the seat options name it: `A` is `model_a`. */
function seatLetter(seat: Seat): string {
  return String.fromCharCode(65 + seat);
}

/**
 * A seat of `salon` named by its letter (`C` for `model_c`, what autocomplete sends), display name or model key;
 * anything else is refused with the names.
 */
export function resolveSeat(salon: SalonRecord, value: string | null, command: 'ask' | 'next'): Seat | undefined {
  const wanted = value?.trim().toLowerCase();
  if (!wanted) return undefined;
  const byName = salon.seats.findIndex((p) => wanted === p.name.toLowerCase());
  const byKey = salon.seats.findIndex((p) => wanted === p.key.toLowerCase());
  const byLetter = salon.seats.findIndex((_, seat) => wanted === seatLetter(seat).toLowerCase());
  const seat = [byName, byKey, byLetter].find((s) => s >= 0) ?? -1;
  if (seat < 0) throw new SalonError({ code: 'unknown_speaker', wanted: value ?? '', names: salon.seats.map((p) => p.name), command });
  return seat;
}

/** Autocomplete for a seat option (`to`, `speaker`): the seats of this thread's salon whose name or key matches. */
export async function salonSeatChoices(interaction: AutocompleteInteraction, { engine }: BotContext): Promise<void> {
  const salon = await engine.get(interaction.channelId).catch(() => undefined);
  await interaction.respond(salon ? seatChoices(salon, String(interaction.options.getFocused())) : []);
}

function seatChoices(salon: SalonRecord, typed: string): { name: string; value: string }[] {
  const needle = typed.trim().toLowerCase();
  return salon.seats
    .map((p, seat) => ({ p, seat }))
    .filter(({ p }) => !needle || p.name.toLowerCase().includes(needle) || p.key.toLowerCase().includes(needle))
    .map(({ p, seat }) => ({ name: cutOnWord(p.name, 100), value: seatLetter(seat) }));
}

/** Refuses, naming them, when the bot lacks what it needs to host a salon in `channel`. */
export function assertBotCanHost(channel: TextChannel): void {
  const me = channel.guild.members.me;
  const missing = me ? REQUIRED.filter((flag) => !channel.permissionsFor(me).has(PermissionFlagsBits[flag])).map((flag) => PERMISSION_NAMES[flag]) : [];
  if (missing.length > 0) {
    throw new SalonError({ code: 'bot_lacks_permissions', channelId: channel.id, missing });
  }
}

/** A budget option, checked again in code: whole cents from 0.01 dollars to the operator's ceiling. */
export function checkBudget(value: number | null, config: Config): number | undefined {
  if (value === null) return undefined;
  const max = config.salon.maxBudgetUSD ?? LIMITS.budget.max;
  if (!Number.isFinite(value) || value < LIMITS.budget.min || value > max) {
    throw new SalonError({ code: 'budget_out_of_range', min: LIMITS.budget.min, max, operatorCeiling: config.salon.maxBudgetUSD !== undefined });
  }
  return Math.round(value * 100) / 100;
}

/** The access check for starting (or forking) a salon here, to run before and again at creation. */
export function admission(interaction: ChatInputCommandInteraction, { config }: BotContext): (active: SalonHead[]) => void {
  const request = { guildId: interaction.guildId ?? '', channelId: channelOf(interaction), userId: interaction.user.id, roleIds: roleIdsOf(interaction) };
  return (active) => checkAccess(config.access, request, active);
}

/** Where a salon is started: the channel itself, or the parent channel of a thread (for a fork). */
function channelOf(interaction: ChatInputCommandInteraction): string {
  const channel = interaction.channel;
  return channel?.isThread() ? (channel.parentId ?? channel.id) : interaction.channelId;
}

/** Creates the salon for a new thread; if that is refused after all (a limit reached meanwhile), the thread goes. */
export async function createOrDropThread<T>(thread: ThreadChannel, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    await thread.delete(auditLogReasons.refused).catch(() => {});
    throw err;
  }
}

// What a salon needs from start to archive: without Attach Files the transcript could not be posted, without
// Manage Threads the closed thread could not be locked.
const REQUIRED = [
  'ViewChannel',
  'CreatePublicThreads',
  'SendMessagesInThreads',
  'EmbedLinks',
  'AttachFiles',
  'ReadMessageHistory',
  'ManageThreads',
] as const satisfies readonly (keyof typeof PermissionFlagsBits & keyof typeof PERMISSION_NAMES)[];
