/**
 * Every word the bot says in Discord, rendered from data: the domain and the handlers say what happened (a code
 * and its values), and this folder alone says it in words. What people see is defined here and nowhere else, so a
 * translation or a change of tone touches this folder only. It imports nothing of Discord or HTTP: the model client
 * and the engine use it as the Discord adapter does.
 *
 * The transcript's own words live in src/domain/transcript.ts: they are the archive format.
 */
export * from './failures.js';
export * from './notices.js';
export * from './posts.js';
export * from './refusals.js';
export * from './status.js';
export * from './replies.js';
export * from './commands.js';
