/**
 * Prompt-caching breakpoints for endpoints that take them (Anthropic models, directly or through OpenRouter).
 *
 * A salon's prompts for one seat grow by appending: the system prompt and the history up to the seat's own last
 * turn are the same next time (the turn note rides on the final user message, so it never breaks the prefix).
 * Marking the system prompt and that last assistant message lets the provider bill the repeated history as cached.
 */
import type { ChatMessage } from '../domain/prompts.js';

type CachedPart = { type: 'text'; text: string; cache_control: { type: 'ephemeral' } };
export type WireMessage = { role: ChatMessage['role']; content: string | CachedPart[] };

function mark(message: ChatMessage): WireMessage {
  return { role: message.role, content: [{ type: 'text', text: message.content, cache_control: { type: 'ephemeral' } }] };
}

export function withCacheBreakpoints(messages: ChatMessage[]): WireMessage[] {
  const lastAssistant = messages.findLastIndex((m) => m.role === 'assistant');
  return messages.map((m, i) => ((i === 0 && m.role === 'system') || i === lastAssistant ? mark(m) : { ...m }));
}

/** Anthropic models on OpenRouter or Anthropic's own API take breakpoints; elsewhere caching is automatic or absent. */
export function takesCacheBreakpoints(model: { model: string; baseURL: string; promptCaching?: boolean }): boolean {
  if (model.promptCaching !== undefined) return model.promptCaching;
  const host = new URL(model.baseURL).hostname;
  return (host.endsWith('openrouter.ai') && model.model.startsWith('anthropic/')) || host.endsWith('anthropic.com');
}
