/**
 * The bot's words live in src/wording. This reads the code that speaks to people (the commands, the Discord
 * adapter, the engine, the model client and the rules) and lists every string literal that looks like a sentence
 * (a space and a letter) outside src/wording, leaving out what is not said to anyone in Discord:
 * - import paths;
 * - what goes to the log (a call of `trace`, `debug`, `info`, `warn`, `error` or `fatal` on a `log` or `logger`)
 *   or to the console;
 * - the messages of errors that only the log shows (`new SomethingError(…)`, and `super(…)` in such a class): every
 *   error but those whose message reaches people (USER_FACING_ERRORS);
 * - a Symbol's description;
 * - the few texts listed in ALLOWED, each with its reason.
 * Not read: the operator's side (src/app.ts, main.ts, env.ts, deploy-commands.ts, the health check, config, store,
 * queue, proxy), whose words go to stderr and logs; the transcript and the ledger's figures, which are the archive's
 * format (src/domain/transcript.ts, ledger.ts); and the prompts, which are said to the models (src/domain/prompts.ts, and
 * src/domain/moderator.ts: what the moderator model is asked).
 * Single words (a name like "Salon") are not sentences and are not caught.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const READ = ['commands', 'src/discord', 'src/engine', 'src/models', 'src/domain'];
const NOT_READ = new Set(['src/domain/transcript.ts', 'src/domain/ledger.ts', 'src/domain/prompts.ts', 'src/domain/moderator.ts']);

/** Errors whose message is shown in Discord: a literal in them is a word out of place. */
const USER_FACING_ERRORS = new Set(['ModelError', 'PublishError', 'SalonError']);

/** Sentences that may stay where they are, by file. */
const ALLOWED: Record<string, { text: string; why: string }[]> = {
  'src/discord/gateway.ts': [
    { text: 'salon ${}:${}', why: 'the User-Agent that names the process, for Discord support and proxy logs' },
    { text: 'DISCORD_TOKEN was refused by Discord (check the bot token)', why: 'said to the operator on stderr, not in Discord' },
    { text: 'Node.js ${} ${}', why: 'the User-Agent' },
  ],
  'src/models/openai-client.ts': [{ text: 'Bearer [redacted]', why: 'what replaces a key in the endpoint’s own words, not a sentence of ours' }],
  // Reasons handed to code that only logs them.
  'src/engine/engine.ts': [{ text: 'the thread was deleted', why: 'threadGone logs its reason; the salon closes without a word' }],
  'src/engine/leased-driver.ts': [{ text: 'lease over', why: 'Rooms.release logs why it let a salon go' }],
  'src/engine/rooms.ts': [
    { text: 'lease over', why: 'Rooms.release logs why it let a salon go' },
    { text: 'version ${} found, ${} expected', why: 'staleReason, for the log' },
  ],
  'src/engine/scheduler.ts': [
    { text: 'salon step failed; will try again', why: 'the log message of a failed step' },
    { text: 'delivery failed; will try again', why: 'the log message of a failed delivery' },
  ],
};

const LOG_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/** A template literal's text with `${}` for each placeholder; a plain literal's text. */
function literalText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join('${}');
  return undefined;
}

/** The name a `new` expression or a class heritage names: `Error` for `new Error(…)`, `StoreError` for `errors.StoreError`. */
function calleeName(expression: ts.Expression): string {
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  return '';
}

function isLogCall(call: ts.CallExpression): boolean {
  const callee = ts.isNonNullExpression(call.expression) ? call.expression.expression : call.expression;
  if (!ts.isPropertyAccessExpression(callee) || !LOG_METHODS.has(callee.name.text)) return false;
  return /\b(log|logger|console)\b/.test(callee.expression.getText());
}

function isLogOnlyError(name: string): boolean {
  return /Error$/.test(name) && !USER_FACING_ERRORS.has(name);
}

/** Whether `node` is an argument whose words go to the log, the console or an error's message only. */
function saidToNoOne(node: ts.Node): boolean {
  for (let at: ts.Node = node; at.parent; at = at.parent) {
    const parent = at.parent;
    if (ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent) || ts.isExternalModuleReference(parent)) return true;
    if (ts.isCallExpression(parent) && parent.arguments.includes(at as ts.Expression)) {
      if (parent.expression.kind === ts.SyntaxKind.ImportKeyword || isLogCall(parent)) return true;
      if (ts.isIdentifier(parent.expression) && parent.expression.text === 'Symbol') return true;
      if (parent.expression.kind === ts.SyntaxKind.SuperKeyword) {
        const owner = ts.findAncestor(parent, ts.isClassLike);
        const base = owner?.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
        if (owner?.name && base && isLogOnlyError(calleeName(base.expression)) && !USER_FACING_ERRORS.has(owner.name.text)) return true;
      }
    }
    if (ts.isNewExpression(parent) && parent.arguments?.includes(at as ts.Expression) && isLogOnlyError(calleeName(parent.expression))) return true;
  }
  return false;
}

/** The sentence-like literals of one file's source, with their lines. */
function sentencesIn(fileName: string, source: string): { line: number; text: string }[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found: { line: number; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    const text = literalText(node);
    if (text !== undefined && / /.test(text) && /\p{L}/u.test(text) && !saidToNoOne(node)) {
      found.push({ line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1, text });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

describe('the bot’s words are all in src/wording', () => {
  it('no sentence said to people is written outside it', () => {
    const files = READ.flatMap(sourceFiles).filter((file) => !NOT_READ.has(file));
    expect(files.length).toBeGreaterThan(40);
    const offenders = files.flatMap((file) => {
      const allowed = new Set((ALLOWED[file] ?? []).map((a) => a.text));
      return sentencesIn(file, readFileSync(join(ROOT, file), 'utf8'))
        .filter(({ text }) => !allowed.has(text))
        .map(({ line, text }) => `${file}:${line} ${JSON.stringify(text)}`);
    });
    // Each one belongs in src/wording (or, if nobody in Discord ever sees it, in a log call or a log-only error).
    expect(offenders).toEqual([]);
  });

  it('every allowed text is still there, so the list does not outlive what it excuses', () => {
    for (const [file, allowed] of Object.entries(ALLOWED)) {
      const texts = new Set(sentencesIn(file, readFileSync(join(ROOT, file), 'utf8')).map((s) => s.text));
      for (const { text } of allowed) expect(texts, `${file}: ${text}`).toContain(text);
    }
  });

  it('finds sentences in replies, templates and user-facing errors, and not in logs, imports or log-only errors', () => {
    const source = `
      import { x } from './a module.js';
      const reply = 'Paused by you.';
      const template = \`\${who} added \${n} rounds\`;
      const bare = \`\${a} \${b}\`;
      log.warn({ err }, 'could not confirm the close');
      this.log.child({ id }).info('turn written');
      ctx.log?.debug('a message');
      console.error('failed to start');
      throw new Error('a leased engine needs wakeups');
      throw new StoreError(\`cannot use the store \${url}\`);
      throw new PublishError('the thread is gone', true);
      throw new ModelError(\`no reply within \${s} s\`, false);
      const marker = Symbol('timed out');
      class LeaseLost extends Error { constructor() { super('this lease is over now'); } }
      class Visible extends ModelError { constructor() { super('shown in the thread', true); } }
      const name = 'Salon';
      const channel = 'access.channels';
    `;
    expect(sentencesIn('sample.ts', source).map((s) => s.text)).toEqual([
      'Paused by you.',
      '${} added ${} rounds',
      'the thread is gone',
      'no reply within ${} s',
      'shown in the thread',
    ]);
  });
});
