import type { ViolationIssue } from './types.js';

/**
 * An error answer in Discord's JSON shape. Route handlers throw these; the
 * REST pipeline turns them into responses.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: Record<string, unknown>,
  ) {
    super(message);
  }

  toBody(): Record<string, unknown> {
    return this.errors ? { message: this.message, code: this.code, errors: this.errors } : { message: this.message, code: this.code };
  }
}

// The codes and messages below are Discord's own
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json).
export const Errors = {
  unauthorized: () => new ApiError(401, 0, '401: Unauthorized'),
  notFound: () => new ApiError(404, 0, '404: Not Found'),
  methodNotAllowed: () => new ApiError(405, 0, '405: Method Not Allowed'),
  unknownApplication: () => new ApiError(404, 10002, 'Unknown Application'),
  unknownGuild: () => new ApiError(404, 10004, 'Unknown Guild'),
  unknownChannel: () => new ApiError(404, 10003, 'Unknown Channel'),
  unknownMember: () => new ApiError(404, 10007, 'Unknown Member'),
  unknownMessage: () => new ApiError(404, 10008, 'Unknown Message'),
  unknownWebhook: () => new ApiError(404, 10015, 'Unknown Webhook'),
  unknownCommand: () => new ApiError(404, 10063, 'Unknown application command'),
  unknownInteraction: () => new ApiError(404, 10062, 'Unknown interaction'),
  maxWebhooks: () => new ApiError(400, 30007, 'Maximum number of webhooks reached (15)'),
  alreadyAcknowledged: () => new ApiError(400, 40060, 'Interaction has already been acknowledged.'),
  entityTooLarge: () => new ApiError(413, 40005, 'Request entity too large'),
  missingAccess: () => new ApiError(403, 50001, 'Missing Access'),
  emptyMessage: () => new ApiError(400, 50006, 'Cannot send an empty message'),
  cannotEditOthersMessage: () => new ApiError(403, 50005, 'Cannot edit a message authored by another user'),
  missingPermissions: () => new ApiError(403, 50013, 'Missing Permissions'),
  wrongChannelType: () => new ApiError(400, 50024, 'Cannot execute action on this channel type'),
  invalidWebhookToken: () => new ApiError(401, 50027, 'Invalid Webhook Token'),
  threadArchived: (status = 403) => new ApiError(status, 50083, 'Thread is archived'),
  invalidJson: () => new ApiError(400, 50109, 'The request body contains invalid JSON.'),
  invalidFormBody: (issues: ViolationIssue[]) => new ApiError(400, 50035, 'Invalid Form Body', formBodyErrors(issues)),
} as const;

/**
 * Nests issues the way Discord reports them:
 * `{ nonce: { _errors: [{ code, message }] } }`, `{ embeds: { 0: { title: {...} } } }`.
 */
export function formBodyErrors(issues: ViolationIssue[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const issue of issues) {
    const keys = issue.path === '' ? [] : issue.path.split('.');
    let node = root;
    for (const key of keys) {
      const next = (node[key] ??= {}) as Record<string, unknown>;
      node = next;
    }
    const list = (node._errors ??= []) as Array<{ code: string; message: string }>;
    list.push({ code: issue.code, message: issue.message });
  }
  return root;
}
