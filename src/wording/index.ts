/**
 * Every word the bot says in Discord (and in the server's audit log), rendered from data: the domain and the handlers
 * say what happened (a code and its values), and this folder alone says it in words, so a translation or a change of
 * tone touches this folder only. It imports nothing of Discord or HTTP, and nothing that imports the rules: the
 * domain, the engine and the model client use it as the Discord adapter does.
 *
 * - refusals.ts: why a request was refused, and the ⚠️ that marks it; the permissions a salon needs, by name
 * - replies.ts: what each `/salon` subcommand answers when it succeeds
 * - commands.ts: the descriptions Discord's command picker shows
 * - notices.ts: what the bot posts in the thread on its own (finished, failed, budget spent)
 * - status.ts: `/salon status`, and the thread's header
 * - posts.ts: the lines around the models' turns, the archive's caption, names, and audit-log reasons
 * - failures.ts: why a model request or a post failed
 *
 * The transcript's own words live in src/domain/transcript.ts (with the ledger's figures in src/domain/ledger.ts):
 * they are the archive format. The prompts in src/domain/prompts.ts are said to the models, not to people. What the
 * operator reads (logs, stderr, config errors) stays with the code that reports it.
 */
export * from './commands.js';
export * from './failures.js';
export * from './notices.js';
export * from './posts.js';
export * from './refusals.js';
export * from './replies.js';
export * from './status.js';
