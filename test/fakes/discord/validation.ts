// Request-body checks. Discord's published OpenAPI spec (as Zod schemas from
// discord-api-spec) judges the shape; Discord's documented limits that the
// spec does not state (or states more loosely) are checked by hand below.

import {
  ApplicationCommandAutocompleteCallbackRequestSchema,
  ApplicationCommandCreateRequestSchema,
  ApplicationCommandUpdateRequestSchema,
  CreateMessageInteractionCallbackRequestSchema,
  CreateTextThreadWithoutMessageRequestSchema,
  IncomingWebhookRequestPartialSchema,
  IncomingWebhookUpdateRequestPartialSchema,
  MessageCreateRequestSchema,
  MessageEditRequestPartialSchema,
  UpdateGuildChannelRequestPartialSchema,
  UpdateMessageInteractionCallbackRequestSchema,
  UpdateThreadRequestPartialSchema,
} from 'discord-api-spec/zod';
import type { ZodMiniType } from 'zod/mini';
import { FORBIDDEN_WEBHOOK_NAME_PARTS, Limits } from './constants.js';
import type { UploadedFile, ViolationIssue } from './types.js';

export const Schemas = {
  messageCreate: MessageCreateRequestSchema,
  messageEdit: MessageEditRequestPartialSchema,
  threadCreate: CreateTextThreadWithoutMessageRequestSchema,
  threadUpdate: UpdateThreadRequestPartialSchema,
  channelUpdate: UpdateGuildChannelRequestPartialSchema,
  webhookExecute: IncomingWebhookRequestPartialSchema,
  webhookMessageEdit: IncomingWebhookUpdateRequestPartialSchema,
  callbackMessage: CreateMessageInteractionCallbackRequestSchema,
  callbackUpdate: UpdateMessageInteractionCallbackRequestSchema,
  callbackAutocomplete: ApplicationCommandAutocompleteCallbackRequestSchema,
  commandCreate: ApplicationCommandCreateRequestSchema,
  // Bulk overwrite (PUT) takes update requests: the create shape plus an optional id.
  commandOverwrite: ApplicationCommandUpdateRequestSchema,
} satisfies Record<string, ZodMiniType>;

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  origin?: string;
  maximum?: number | bigint;
  minimum?: number | bigint;
  expected?: string;
  values?: unknown[];
}

/** Runs a published schema and returns its complaints in Discord's vocabulary. */
export function schemaIssues(schema: ZodMiniType, body: unknown): ViolationIssue[] {
  const result = schema.safeParse(body);
  if (result.success) return [];
  return (result.error.issues as ZodIssueLike[]).map((issue) => toDiscordIssue(issue, body));
}

function toDiscordIssue(issue: ZodIssueLike, body: unknown): ViolationIssue {
  const path = issue.path.map(String).join('.');
  const sized = issue.origin === 'string' || issue.origin === 'array';
  switch (issue.code) {
    case 'too_big':
      return sized
        ? { path, code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${issue.maximum} or fewer in length.` }
        : { path, code: 'NUMBER_TYPE_MAX', message: `Must be less than or equal to ${issue.maximum}.` };
    case 'too_small':
      return sized
        ? { path, code: 'BASE_TYPE_MIN_LENGTH', message: `Must be ${issue.minimum} or more in length.` }
        : { path, code: 'NUMBER_TYPE_MIN', message: `Must be greater than or equal to ${issue.minimum}.` };
    case 'invalid_type': {
      const value = valueAt(body, issue.path);
      return value === undefined
        ? { path, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }
        : {
            path,
            code: `${(issue.expected ?? 'BASE').toUpperCase()}_TYPE_CONVERT`,
            message: `Could not interpret ${JSON.stringify(value)} as ${issue.expected ?? 'the expected type'}.`,
          };
    }
    case 'invalid_value':
    case 'invalid_union':
      return {
        path,
        code: 'BASE_TYPE_CHOICES',
        message: issue.values ? `Value must be one of ${JSON.stringify(issue.values)}.` : 'Value does not match any accepted form.',
      };
    default:
      return { path, code: issue.code.toUpperCase(), message: issue.message };
  }
}

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let node = body;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Limits on a message body that the spec does not express: bots may send 2,000
 * characters (the spec says 4,000), and all embeds together hold 6,000.
 */
export function messageLimitIssues(body: unknown): ViolationIssue[] {
  if (!isRecord(body)) return [];
  const issues: ViolationIssue[] = [];
  if (typeof body.content === 'string' && [...body.content].length > Limits.messageContent) {
    issues.push({
      path: 'content',
      code: 'BASE_TYPE_MAX_LENGTH',
      message: `Must be ${Limits.messageContent} or fewer in length.`,
    });
  }
  if (Array.isArray(body.embeds)) {
    if (body.embeds.length > Limits.embedsPerMessage) {
      issues.push({
        path: 'embeds',
        code: 'BASE_TYPE_MAX_LENGTH',
        message: `Must be ${Limits.embedsPerMessage} or fewer in length.`,
      });
    }
    const total = body.embeds.reduce<number>((sum, embed) => sum + embedCharacters(embed), 0);
    if (total > Limits.embedTotalCharacters) {
      issues.push({
        path: 'embeds',
        code: 'MAX_EMBED_SIZE_EXCEEDED',
        message: `Embed size exceeds maximum size of ${Limits.embedTotalCharacters}`,
      });
    }
  }
  return issues;
}

/** Characters Discord counts toward the 6,000 total of a message's embeds. */
function embedCharacters(embed: unknown): number {
  if (!isRecord(embed)) return 0;
  const len = (value: unknown): number => (typeof value === 'string' ? [...value].length : 0);
  let total = len(embed.title) + len(embed.description);
  if (isRecord(embed.footer)) total += len(embed.footer.text);
  if (isRecord(embed.author)) total += len(embed.author.name);
  if (Array.isArray(embed.fields)) {
    for (const field of embed.fields) if (isRecord(field)) total += len(field.name) + len(field.value);
  }
  return total;
}

export function fileIssues(files: UploadedFile[]): ViolationIssue[] {
  const issues: ViolationIssue[] = [];
  if (files.length > Limits.filesPerMessage) {
    issues.push({
      path: 'files',
      code: 'BASE_TYPE_MAX_LENGTH',
      message: `Must be ${Limits.filesPerMessage} or fewer in length.`,
    });
  }
  return issues;
}

export function oversizedFiles(files: UploadedFile[]): UploadedFile[] {
  return files.filter((file) => file.size > Limits.fileBytes);
}

/** Discord refuses (50006) a message with nothing to show. */
export function isEmptyMessage(body: unknown, files: UploadedFile[]): boolean {
  if (files.length > 0) return false;
  if (!isRecord(body)) return true;
  const nonEmpty = (value: unknown): boolean => Array.isArray(value) && value.length > 0;
  return !(
    (typeof body.content === 'string' && body.content.length > 0) ||
    nonEmpty(body.embeds) ||
    nonEmpty(body.components) ||
    nonEmpty(body.sticker_ids) ||
    isRecord(body.poll)
  );
}

/** Username rules for webhook messages (and webhook names). */
export function webhookNameIssues(field: string, name: unknown): ViolationIssue[] {
  if (typeof name !== 'string') return [];
  const issues: ViolationIssue[] = [];
  if (name.length < 1 || name.length > Limits.webhookUsername) {
    issues.push({
      path: field,
      code: 'BASE_TYPE_BAD_LENGTH',
      message: `Must be between 1 and ${Limits.webhookUsername} in length.`,
    });
  }
  for (const part of FORBIDDEN_WEBHOOK_NAME_PARTS) {
    if (name.toLowerCase().includes(part)) {
      issues.push({
        path: field,
        code: 'USERNAME_INVALID_CONTAINS',
        message: `Username cannot contain "${part}"`,
      });
    }
  }
  return issues;
}

/**
 * The spec types `default_member_permissions` as a number, but Discord's
 * documentation (and every client, discord.js included) sends a string of
 * digits, which Discord accepts. Convert before asking the schema, so the
 * schema still checks the range.
 */
export function normaliseCommandForSchema(command: unknown): unknown {
  if (!isRecord(command)) return command;
  const permissions = command.default_member_permissions;
  if (typeof permissions === 'string' && /^\d+$/.test(permissions)) {
    return { ...command, default_member_permissions: Number(permissions) };
  }
  return command;
}

export function prefixIssues(prefix: string, issues: ViolationIssue[]): ViolationIssue[] {
  return issues.map((issue) => ({ ...issue, path: issue.path ? `${prefix}.${issue.path}` : prefix }));
}

/**
 * Command rules Discord enforces that the schema cannot express: option names
 * unique per level, and required options listed before optional ones.
 */
export function commandRuleIssues(command: unknown): ViolationIssue[] {
  if (!isRecord(command)) return [];
  return optionListIssues(command.options, 'options');
}

function optionListIssues(options: unknown, path: string): ViolationIssue[] {
  if (!Array.isArray(options)) return [];
  const issues: ViolationIssue[] = [];
  const seen = new Set<string>();
  let sawOptional = false;
  for (const [index, option] of options.entries()) {
    if (!isRecord(option)) continue;
    const here = `${path}.${index}`;
    if (typeof option.name === 'string') {
      if (seen.has(option.name)) {
        issues.push({
          path: `${here}.name`,
          code: 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS',
          message: 'Option names must be unique',
        });
      }
      seen.add(option.name);
    }
    const isGroup = option.type === 1 || option.type === 2;
    if (isGroup) {
      issues.push(...optionListIssues(option.options, `${here}.options`));
    } else if (option.required === true && sawOptional) {
      issues.push({
        path: here,
        code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
        message: 'Required options must be placed before non-required options',
      });
    } else if (option.required !== true) {
      sawOptional = true;
    }
  }
  return issues;
}

/** Bulk overwrite: names must be unique per command type. */
export function duplicateCommandIssues(commands: unknown[]): ViolationIssue[] {
  const seen = new Set<string>();
  const issues: ViolationIssue[] = [];
  for (const [index, command] of commands.entries()) {
    if (!isRecord(command)) continue;
    const key = `${String(command.type ?? 1)}:${String(command.name)}`;
    if (seen.has(key)) {
      issues.push({
        path: `${index}.name`,
        code: 'APPLICATION_COMMANDS_DUPLICATE_NAME',
        message: 'Application command names must be unique',
      });
    }
    seen.add(key);
  }
  return issues;
}
