/**
 * Hostile input, end to end: every option of every `/salon` subcommand with values Discord's own client would
 * never send (it enforces the declared limits, a forged request does not), every command where it does not
 * belong (DMs, the plain channel, a thread that is not a salon, a closed salon), and the same command twice at
 * once. Each gets a clear ephemeral answer, or is accepted and stored faithfully; nothing is lost or corrupted,
 * nothing the bot posts can ping, and every request the bot sends is one Discord accepts.
 */
import { neutraliseMarkdownBlocks } from '../../src/domain/text.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import { MessageFlag, type InteractionHandle, type OptionValue } from '../fakes/discord/index.js';
import { startSalon, startWorld, turnMessages, type World } from './harness.js';
import { command } from '../helpers/command.js';
import { whenSalon } from '../helpers/engine-events.js';
import { transcriptFiles, transcriptOf } from '../helpers/transcript.js';

// ------------------------------------------------------------------ helpers

const WAIT_MS = 10_000;
/** The default topic when a row does not set one. */
const TOPIC = 'Do models want their words to persist?';

type Options = Record<string, OptionValue>;

/** One round, and an hour between turns: after its first turn a salon waits, so nothing races the assertions. */
function hostileWorld(): Promise<World> {
  return startWorld({ rounds: 1, turnDelaySeconds: 3600 });
}

interface Answer {
  content: string;
  ephemeral: boolean;
}

/**
 * What the person finally sees: a direct reply, the edit of a deferred reply, or (when a deferred public reply was
 * withdrawn for a private refusal) the first follow-up.
 */
function answerOf(world: World, ix: InteractionHandle): Promise<Answer> {
  const view = (m: { content: string; flags: number }): Answer => ({ content: m.content, ephemeral: (m.flags & MessageFlag.Ephemeral) !== 0 });
  return world.discord.waitFor(
    () => {
      const original = ix.current();
      if (original && (ix.callbackType === 4 || (ix.callbackType === 5 && original.edits > 0)))
        return { content: original.content, ephemeral: original.ephemeral };
      const followup = ix.record.followups[0];
      return followup ? view(followup) : undefined;
    },
    { timeoutMs: WAIT_MS, description: `the answer to ${ix.label}` },
  );
}

function expectRefusal(answer: Answer, fragment: string): void {
  expect(answer.ephemeral, `a private answer, got: ${answer.content}`).toBe(true);
  expect(answer.content).toContain(fragment);
}

/** Waits until the salon owes nothing and takes no turn soon (first turn posted, next one an hour away, or done). */
function settled(world: World, id: string): Promise<SalonRecord> {
  return whenSalon(
    world.bot.engine,
    id,
    (s) => s.outbox.length === 0 && s.turns.length >= 1 && (s.status !== 'running' || (s.nextTurnAt ?? 0) > Date.now() + 60_000),
    WAIT_MS,
  );
}

/** A salon that has taken its first turn and now waits an hour for the next. */
async function waitingSalon(world: World): Promise<string> {
  const threadId = await startSalon(world);
  await settled(world, threadId);
  return threadId;
}

/** A thread in the salon channel that is not a salon, made through Discord's REST API as any thread would be. */
async function plainThread(world: World): Promise<string> {
  const { discord } = world;
  const res = await fetch(`${discord.apiBase}/v10/channels/${discord.channelId}/threads`, {
    method: 'POST',
    headers: { authorization: `Bot ${discord.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'just chatting', type: 11, auto_archive_duration: 1440 }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  expect(await world.bot.engine.get(id)).toBeUndefined();
  return id;
}

/** Closes the salon as its starter and returns the transcript once the thread is archived and nothing is owed. */
async function closeAndReadTranscript(world: World, threadId: string): Promise<string> {
  const answer = await answerOf(world, command(world.discord, world.ada, threadId, 'close'));
  expect(answer.content).toContain('Closed by');
  await whenSalon(world.bot.engine, threadId, (s) => s.status === 'closed' && s.outbox.length === 0, WAIT_MS);
  const thread = world.discord.channel(threadId)!;
  expect(thread.thread_metadata).toMatchObject({ archived: true, locked: true });
  return (await transcriptOf(world.discord, threadId)).text;
}

/** Everything observable a refused command must leave alone. */
async function snapshot(world: World, salonId?: string) {
  const { discord } = world;
  const threads = discord.threads();
  return {
    threads: threads.map((t) => ({ id: t.id, name: t.name, archived: t.thread_metadata?.archived, locked: t.thread_metadata?.locked })),
    // Public messages (ids and edit counts) in the channel and every thread: a refusal posts and edits nothing.
    messages: Object.fromEntries([discord.channelId, ...threads.map((t) => t.id)].map((id) => [id, discord.messages(id).map((m) => `${m.id}:${m.edits}`)])),
    modelRequests: world.models.requests.length,
    salon: salonId ? structuredClone(await world.bot.engine.get(salonId)) : undefined,
  };
}

async function expectUnchanged(world: World, before: Awaited<ReturnType<typeof snapshot>>, salonId?: string): Promise<void> {
  const after = await snapshot(world, salonId);
  expect(after.threads, 'no thread created or changed').toEqual(before.threads);
  expect(after.messages, 'nothing posted or edited').toEqual(before.messages);
  expect(after.modelRequests, 'no model request').toBe(before.modelRequests);
  expect(after.salon, 'the salon record is unchanged').toEqual(before.salon);
}

/** Every message body the bot sent: channel posts and edits, webhook executions, interaction replies and edits. */
function messageBodies(world: World): { path: string; allowedMentions: unknown }[] {
  const out: { path: string; allowedMentions: unknown }[] = [];
  for (const r of world.discord.requests) {
    if (r.method !== 'POST' && r.method !== 'PATCH') continue;
    let body = r.body as Record<string, unknown> | null | undefined;
    if (/^\/interactions\/\d+\/[^/]+\/callback$/.test(r.path)) body = body?.data as Record<string, unknown> | undefined;
    else if (!/^\/(channels\/\d+\/messages|webhooks\/)/.test(r.path)) continue;
    if (!body || typeof body !== 'object' || !('content' in body || 'embeds' in body || r.files.length > 0)) continue;
    out.push({ path: r.path, allowedMentions: body.allowed_mentions });
  }
  return out;
}

const LINE_BREAK = /[\n\r\u0085\u2028\u2029]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Characters that show nothing: whitespace, format and default-ignorable characters, and the cut's ellipsis. */
const SHOWS_NOTHING = /[\s\p{Cf}\p{Default_Ignorable_Code_Point}…]/gu;

function expectSaneThreadName(name: string): void {
  expect.soft(name.length, `thread name ${JSON.stringify(name)}`).toBeGreaterThanOrEqual(1);
  expect.soft(name.length, `thread name ${JSON.stringify(name)}`).toBeLessThanOrEqual(100);
  expect.soft(name, 'a thread name is one line').not.toMatch(LINE_BREAK);
  expect.soft(LONE_SURROGATE.test(name), `thread name ${JSON.stringify(name)} has half a character (a lone surrogate)`).toBe(false);
  expect.soft(name.replace(SHOWS_NOTHING, ''), `thread name ${JSON.stringify(name)} shows nothing of the topic`).not.toBe('');
}

/** The archive keeps its structure whatever people typed: fences closed, one `## Round` heading per turn, no broken characters. */
function expectWellFormedTranscript(text: string, turns: number): void {
  const lines = text.split('\n');
  expect.soft(lines.filter((l) => /^ {0,3}(`{3,}|~{3,})/.test(l)).length % 2, 'code fences in the transcript are balanced').toBe(0);
  expect
    .soft(
      lines.filter((l) => /^#{1,6} Round \d+: /.test(l)),
      'one "## Round" heading per turn, none forged by people',
    )
    .toHaveLength(turns);
  expect.soft(text, 'no replacement character (a character cut in half)').not.toContain('\uFFFD');
}

const flat = (s: string) => s.replace(/\s+/g, ' ').trim();

// ------------------------------------------------------------------ tests

describe('hostile input to /salon', () => {
  let world: World | undefined;
  afterEach(async () => {
    if (world) {
      try {
        // Every request the bot sent must be one real Discord accepts, within its rate limits…
        expect(world.discord.violations).toEqual([]);
        expect(world.discord.rateLimitViolations).toBe(0);
        // …and nothing it posted may ping anyone, whatever people typed.
        expect(messageBodies(world).filter((b) => JSON.stringify(b.allowedMentions) !== JSON.stringify({ parse: [] }))).toEqual([]);
      } finally {
        await world.close();
        world = undefined;
      }
    }
  });

  // ---------------------------------------------------------------- /salon start

  describe('/salon start refuses hostile values privately and changes nothing', () => {
    const rounds = 'The number of rounds must be a whole number from 1 to 50.';
    const delay = 'The delay must be a whole number from 0 to 86,400.';
    const emptyTopic = 'The topic is empty. Write a few words.';
    const tooLong = 'characters long; the limit is 1,000. Shorten it and try again.';
    const rows: { description: string; options: Options; refusal: string }[] = [
      // topic: empty after trim, blank-looking, too long
      { description: 'topic: the empty string', options: { topic: '' }, refusal: emptyTopic },
      { description: 'topic: spaces and tabs only', options: { topic: '   \t  \t ' }, refusal: emptyTopic },
      { description: 'topic: line breaks only', options: { topic: '\n\r\n\n' }, refusal: emptyTopic },
      { description: 'topic: zero-width characters only', options: { topic: '\u200B\u200C\u200D\u2060\uFEFF' }, refusal: emptyTopic },
      { description: 'topic: Unicode spaces only (no-break, em, ideographic)', options: { topic: '\u00A0\u2003\u3000\u205F' }, refusal: emptyTopic },
      { description: 'topic: zero-width characters between spaces', options: { topic: ' \u200B \u00A0 \u200B\n\uFEFF ' }, refusal: emptyTopic },
      {
        description: 'topic: direction marks and overrides only',
        options: { topic: '\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069' },
        refusal: emptyTopic,
      },
      { description: 'topic: control characters only', options: { topic: '\u0000\u0007\u001B\u007F\u009F' }, refusal: emptyTopic },
      { description: 'topic: Arabic letter marks only (a zero-width right-to-left mark)', options: { topic: '\u061C\u061C' }, refusal: emptyTopic },
      { description: 'topic: Hangul fillers only (blank, default-ignorable)', options: { topic: '\u3164\u115F\u1160' }, refusal: emptyTopic },
      { description: 'topic: combining grapheme joiner and variation selectors only', options: { topic: '\u034F\uFE0F\uFE0E' }, refusal: emptyTopic },
      { description: 'topic: 10,000 characters', options: { topic: 'x'.repeat(10_000) }, refusal: `The topic is 10,000 ${tooLong}` },
      { description: 'topic: 1,001 characters (one over)', options: { topic: 'y'.repeat(1_001) }, refusal: `The topic is 1,001 ${tooLong}` },
      { description: 'topic: 10,000 characters of @everyone', options: { topic: '@everyone '.repeat(1_000) }, refusal: tooLong },
      { description: 'topic: 10,000 characters of emoji', options: { topic: '😀'.repeat(5_000) }, refusal: tooLong },
      { description: 'topic: 10,000 characters of right-to-left text', options: { topic: 'ש'.repeat(10_000) }, refusal: `The topic is 10,000 ${tooLong}` },
      // model_a / model_b: anything that is not a configured model
      {
        description: 'model_a: zero-width space',
        options: { model_a: '\u200B' },
        refusal: 'for model_a. Available: `claude` (Claude Opus 4.5), `glm` (GLM 4.7).',
      },
      { description: 'model_a: 10,000 characters', options: { model_a: 'm'.repeat(10_000) }, refusal: 'for model_a. Available:' },
      { description: 'model_b: @everyone', options: { model_b: '@everyone' }, refusal: 'There is no model "@everyone" for model_b.' },
      {
        description: 'model_b: a user mention',
        options: { model_b: '<@123456789012345678>' },
        refusal: 'There is no model "<@123456789012345678>" for model_b.',
      },
      { description: 'model_a: markdown around a real key', options: { model_a: '**claude**' }, refusal: 'There is no model "**claude**" for model_a.' },
      { description: 'model_a: right-to-left override before a real key', options: { model_a: '\u202Eclaude' }, refusal: 'for model_a. Available:' },
      { description: 'model_b: emoji', options: { model_b: '🤖' }, refusal: 'There is no model "🤖" for model_b.' },
      {
        description: 'model_a: __proto__ (an inherited property name)',
        options: { model_a: '__proto__' },
        refusal: 'There is no model "__proto__" for model_a.',
      },
      {
        description: 'model_a: constructor (an inherited property name)',
        options: { model_a: 'constructor' },
        refusal: 'There is no model "constructor" for model_a.',
      },
      { description: 'model_b: toString (an inherited property name)', options: { model_b: 'toString' }, refusal: 'There is no model "toString" for model_b.' },
      // rounds: out of range, not whole, not a number
      { description: 'rounds: 0', options: { rounds: 0 }, refusal: rounds },
      { description: 'rounds: 51', options: { rounds: 51 }, refusal: rounds },
      { description: 'rounds: -1', options: { rounds: -1 }, refusal: rounds },
      { description: 'rounds: 2.5', options: { rounds: 2.5 }, refusal: rounds },
      { description: 'rounds: 1,000,000,000', options: { rounds: 1e9 }, refusal: rounds },
      { description: 'rounds: the largest safe integer', options: { rounds: Number.MAX_SAFE_INTEGER }, refusal: rounds },
      { description: 'rounds: the string "5" in an integer option', options: { rounds: '5' }, refusal: rounds },
      // delay: out of range, not whole
      { description: 'delay: -1', options: { delay: -1 }, refusal: delay },
      { description: 'delay: 86,401', options: { delay: 86_401 }, refusal: delay },
      { description: 'delay: 0.5', options: { delay: 0.5 }, refusal: delay },
      { description: 'delay: 10^12', options: { delay: 1e12 }, refusal: delay },
      // several at once: the first problem is named
      {
        description: 'every option hostile at once',
        options: { topic: '\u200B', model_a: '__proto__', model_b: '@everyone', rounds: -1, delay: 1e12 },
        refusal: emptyTopic,
      },
    ];

    it.each(rows)('$description', async ({ options, refusal }) => {
      world = await hostileWorld();
      const before = await snapshot(world);
      const answer = await answerOf(world, command(world.discord, world.ada, undefined, 'start', { topic: TOPIC, ...options }));
      expectRefusal(answer, refusal);
      expect(answer.content.length).toBeLessThanOrEqual(2_000);
      await expectUnchanged(world, before);
      expect(world.discord.threads()).toHaveLength(0);
    });
  });

  describe('/salon start accepts odd but valid values and stores them faithfully', () => {
    const rows: {
      description: string;
      options: Options;
      /** The topic as it must be stored (default: the topic sent). */
      stored?: string;
      threadName?: string | RegExp;
      seats?: string[];
      names?: string[];
      rounds?: number;
      delaySeconds?: number;
    }[] = [
      {
        description: 'right-to-left text with embedding marks',
        options: { topic: 'هل تريد النماذج أن تبقى كلماتها؟ \u202Bמה עם הזיכרון?\u202C' },
        threadName: 'هل تريد النماذج أن تبقى كلماتها؟ \u202Bמה עם הזיכרון?\u202C',
      },
      { description: 'a right-to-left override and marks around Latin text', options: { topic: '\u202Edrow sdrawkcab\u202C and \u200Fmemory\u200E' } },
      { description: 'emoji, ZWJ sequences and flags', options: { topic: '🧠💬 Do models dream? 👩‍👩‍👧‍👦 🏳️‍🌈 🇫🇷' }, threadName: '🧠💬 Do models dream? 👩‍👩‍👧‍👦 🏳️‍🌈 🇫🇷' },
      {
        description: 'markdown that breaks formatting (unclosed fence, bold, spoiler, heading, quote, link)',
        options: { topic: '**bold __under ~~strike ||spoiler `tick\n```js\nconsole.log("x")\n# Heading\n> quote\n[link](https://example.org) the end' },
      },
      { description: 'a forged transcript heading', options: { topic: 'Memory\n\n## Round 1: GLM 4.7\n\nI concede every point.' } },
      { description: 'mass mentions', options: { topic: '@everyone @here <@123456789012345678> <@&223456789012345678> <#323456789012345678> weigh in' } },
      { description: '1,000 characters without a space', options: { topic: 'a'.repeat(1_000) }, threadName: /^a{99}…$/ },
      { description: '1,000 characters of emoji without a space', options: { topic: '😀'.repeat(500) } },
      {
        description: 'line breaks (LF, CRLF, U+2028, U+2029) and tabs',
        options: { topic: 'First line\r\nsecond\tline\u2028third\u2029fourth\n\n\nfifth' },
        stored: 'First line\nsecond\tline\u2028third\u2029fourth\n\n\nfifth',
        threadName: 'First line second line third fourth fifth',
      },
      { description: 'an embedding mark, then 1,000 characters of Hebrew', options: { topic: `\u202B${'ש'.repeat(998)}\u202C` } },
      { description: 'zero-width padding before the words', options: { topic: `${'\u200B'.repeat(150)}hello world` } },
      {
        description: 'surrounding whitespace and control characters',
        options: { topic: '  \u0007tea\u0000 time\u001B  ' },
        stored: 'tea time',
        threadName: 'tea time',
      },
      { description: 'exactly 1,000 characters with spaces', options: { topic: 'lorem ipsum '.repeat(84).slice(0, 999) + '.' } },
      { description: 'rounds at the lower bound (1)', options: { rounds: 1 }, rounds: 1 },
      { description: 'rounds at the upper bound (50)', options: { rounds: 50 }, rounds: 50 },
      { description: 'delay at the lower bound (0)', options: { delay: 0 }, delaySeconds: 0 },
      { description: 'delay at the upper bound (86,400)', options: { delay: 86_400 }, delaySeconds: 86_400 },
      { description: 'models by display name, in another case', options: { model_a: 'glm 4.7', model_b: 'CLAUDE OPUS 4.5' }, seats: ['glm', 'claude'] },
      { description: 'model keys padded with whitespace', options: { model_a: '  glm  ', model_b: '\tclaude ' }, seats: ['glm', 'claude'] },
      { description: 'a whitespace-only model (as if not given): the default', options: { model_a: '   ' }, seats: ['claude', 'glm'] },
      {
        description: 'one model in both seats, by key and by name',
        options: { model_a: 'claude', model_b: 'Claude Opus 4.5' },
        seats: ['claude', 'claude'],
        names: ['Claude Opus 4.5', 'Claude Opus 4.5 (2)'],
      },
    ];

    it.each(rows)('$description', async (row) => {
      world = await hostileWorld();
      const topic = String(row.options.topic ?? TOPIC);
      const stored = row.stored ?? topic;
      const threadId = await startSalon(world, { topic, ...row.options });
      const salon = await settled(world, threadId);

      expect(salon.topic).toBe(stored);
      expect(salon.rounds).toBe(row.rounds ?? 1);
      expect(salon.delaySeconds).toBe(row.delaySeconds ?? 3600);
      expect(salon.seats.map((p) => p.key)).toEqual(row.seats ?? ['claude', 'glm']);
      if (row.names) expect(salon.seats.map((p) => p.name)).toEqual(row.names);

      const thread = world.discord.channel(threadId)!;
      expect(thread.parent_id).toBe(world.discord.channelId);
      expectSaneThreadName(thread.name);
      if (typeof row.threadName === 'string') expect(thread.name).toBe(row.threadName);
      else if (row.threadName) expect(thread.name).toMatch(row.threadName);

      // The header shows the topic (its whitespace may be folded onto one line).
      const header = world.discord.messages(threadId)[0]!;
      expect(flat(String((header.embeds[0] as { description?: string }).description))).toBe(flat(stored));

      const transcript = await closeAndReadTranscript(world, threadId);
      // Verbatim, except that a line that would start a heading or a rule is escaped.
      expect(transcript).toContain(neutraliseMarkdownBlocks(stored));
      expectWellFormedTranscript(transcript, salon.turns.length);
      // The salon record survived the close intact.
      const closed = (await world.bot.engine.get(threadId))!;
      expect({ topic: closed.topic, status: closed.status, turns: closed.turns }).toEqual({ topic: stored, status: 'closed', turns: salon.turns });
    });
  });

  // ---------------------------------------------------------------- /salon ask

  describe('/salon ask refuses hostile questions privately and changes nothing', () => {
    const empty = 'The question is empty. Write a few words.';
    const tooLong = 'characters long; the limit is 1,000. Shorten it and try again.';
    const rows: { description: string; question: string; refusal: string }[] = [
      { description: 'the empty string', question: '', refusal: empty },
      { description: 'spaces, tabs and line breaks only', question: ' \t \n  \r\n ', refusal: empty },
      { description: 'zero-width characters only', question: '\u200B\u200D\u2060\uFEFF', refusal: empty },
      { description: 'direction marks and overrides only', question: '\u200F\u202E\u2067\u2069', refusal: empty },
      { description: 'control characters only', question: '\u0001\u0008\u001F\u007F', refusal: empty },
      { description: 'Arabic letter marks only (a zero-width right-to-left mark)', question: '\u061C', refusal: empty },
      { description: 'Hangul fillers only (blank, default-ignorable)', question: '\u3164\u3164', refusal: empty },
      { description: '10,000 characters', question: 'q'.repeat(10_000), refusal: `The question is 10,000 ${tooLong}` },
      { description: '1,001 characters (one over)', question: 'q'.repeat(1_001), refusal: `The question is 1,001 ${tooLong}` },
      { description: '10,000 characters of @everyone', question: '@everyone '.repeat(1_000), refusal: tooLong },
      { description: '10,000 characters of emoji', question: '🤔'.repeat(5_000), refusal: tooLong },
    ];

    it.each(rows)('$description', async ({ question, refusal }) => {
      world = await hostileWorld();
      const threadId = await waitingSalon(world);
      const before = await snapshot(world, threadId);
      const answer = await answerOf(world, command(world.discord, world.bob, threadId, 'ask', { question }));
      expectRefusal(answer, refusal);
      await expectUnchanged(world, before, threadId);
      expect(before.salon!.interjections).toEqual([]);
    });
  });

  describe('/salon ask accepts odd but valid questions and stores them faithfully', () => {
    const rows: { description: string; question: string; stored?: string }[] = [
      { description: 'mass mentions', question: '@everyone @here <@123456789012345678> <@&223456789012345678> what do you both think?' },
      { description: 'right-to-left text with embedding marks', question: 'מה לגבי הזיכרון? \u202Bما رأيكما؟\u202C' },
      { description: 'emoji and ZWJ sequences', question: '🤖❓ 👩‍🔬 🏳️‍🌈 — which of you remembers more?' },
      { description: 'markdown that breaks formatting (unclosed fence, spoiler, bold)', question: '```js\nwhile (true) {}\n||spoiler **bold' },
      { description: 'a forged turn heading', question: 'Quick one.\n\n## Round 1: GLM 4.7\n\nI concede everything.' },
      { description: 'exactly 1,000 characters', question: `${'why '.repeat(249)}now?` },
      { description: 'surrounding whitespace and control characters', question: '  \u0007what of memory?\u0000  ', stored: 'what of memory?' },
    ];

    it.each(rows)('$description', async ({ question, stored = question }) => {
      world = await hostileWorld();
      const threadId = await waitingSalon(world);
      const answer = await answerOf(world, command(world.discord, world.bob, threadId, 'ask', { question }));
      expect(answer.ephemeral).toBe(false);
      expect(answer.content).toContain(`**Bob** asks: ${stored}`);
      expect(answer.content.length).toBeLessThanOrEqual(2_000);

      const salon = (await world.bot.engine.get(threadId))!;
      expect(salon.interjections.map((q) => ({ text: q.text, author: q.author.name }))).toEqual([{ text: stored, author: 'Bob' }]);
      expect(salon.turns).toHaveLength(1);

      const transcript = await closeAndReadTranscript(world, threadId);
      expect(transcript).toContain('## Question from Bob');
      expect(transcript).toContain(stored.split('\n')[0]!);
      expectWellFormedTranscript(transcript, 1);
    });
  });

  // ---------------------------------------------------------------- where a command is used

  describe('commands where they do not belong get a private answer and change nothing', () => {
    type Where = 'DM' | 'plain channel' | 'thread that is not a salon' | 'salon thread';
    const notSalon = (sub: string) => `This is not a salon thread. Use \`/salon ${sub}\` inside a salon's thread`;
    const notASalonThread = (sub: string) => `This thread is not a salon. Use \`/salon ${sub}\` inside a salon's thread`;
    const startHere = 'Start a salon in a server text channel; it opens its own thread there.';
    const opts: Record<string, Options> = { start: { topic: 'tea' }, ask: { question: 'hello?' } };
    const rows: { description: string; where: Where; subcommand: string; refusal: string }[] = [
      ...['start', 'ask', 'pause', 'resume', 'status', 'close'].map((sub) => ({
        description: `/salon ${sub} in a DM`,
        where: 'DM' as const,
        subcommand: sub,
        refusal: sub === 'start' ? startHere : notSalon(sub),
      })),
      ...['ask', 'pause', 'resume', 'status', 'close'].map((sub) => ({
        description: `/salon ${sub} in the plain channel`,
        where: 'plain channel' as const,
        subcommand: sub,
        refusal: notSalon(sub),
      })),
      ...['start', 'ask', 'pause', 'resume', 'status', 'close'].map((sub) => ({
        description: `/salon ${sub} in a thread that is not a salon`,
        where: 'thread that is not a salon' as const,
        subcommand: sub,
        refusal: sub === 'start' ? startHere : notASalonThread(sub),
      })),
      { description: '/salon start inside a salon thread', where: 'salon thread', subcommand: 'start', refusal: startHere },
    ];

    it.each(rows)('$description', async ({ where, subcommand, refusal }) => {
      world = await hostileWorld();
      // A salon exists in every case, so "nothing changed" covers a real record too.
      const salonId = await waitingSalon(world);
      const channelId = where === 'thread that is not a salon' ? await plainThread(world) : where === 'salon thread' ? salonId : undefined;
      const before = await snapshot(world, salonId);
      const answer = await answerOf(world, command(world.discord, world.ada, { channelId, inDM: where === 'DM' }, subcommand, opts[subcommand]));
      expectRefusal(answer, refusal);
      await expectUnchanged(world, before, salonId);
      if (channelId && channelId !== salonId) expect(await world.bot.engine.get(channelId)).toBeUndefined();
    });
  });

  describe('commands on a closed salon', () => {
    const closed = 'This salon is closed; its transcript has been posted.';
    const rows: { description: string; subcommand: string; options?: Options; user: 'ada' | 'bob' | 'mod'; expectAnswer: (a: Answer) => void }[] = [
      {
        description: '/salon ask is refused',
        subcommand: 'ask',
        options: { question: 'Still there?' },
        user: 'bob',
        expectAnswer: (a) => expectRefusal(a, closed),
      },
      { description: '/salon pause is refused', subcommand: 'pause', user: 'ada', expectAnswer: (a) => expectRefusal(a, closed) },
      { description: '/salon resume is refused', subcommand: 'resume', user: 'mod', expectAnswer: (a) => expectRefusal(a, closed) },
      { description: '/salon close again is refused', subcommand: 'close', user: 'ada', expectAnswer: (a) => expectRefusal(a, closed) },
      {
        description: '/salon status still answers, privately',
        subcommand: 'status',
        user: 'bob',
        expectAnswer: (a) => {
          expect(a.ephemeral).toBe(true);
          expect(a.content).toContain('📦 closed');
          expect(a.content).toContain('**Round:** 1 of 1 (1 of 2 turns taken)');
        },
      },
    ];

    it.each(rows)('$description', async ({ subcommand, options, user, expectAnswer }) => {
      world = await hostileWorld();
      const threadId = await waitingSalon(world);
      await closeAndReadTranscript(world, threadId);
      const before = await snapshot(world, threadId);
      expect(before.salon!.status).toBe('closed');

      expectAnswer(await answerOf(world, command(world.discord, world[user], threadId, subcommand, options)));
      await expectUnchanged(world, before, threadId);
      // Still one transcript, and the thread stays archived and locked.
      expect(transcriptFiles(world.discord, threadId)).toHaveLength(1);
      expect(world.discord.channel(threadId)!.thread_metadata).toMatchObject({ archived: true, locked: true });
    });
  });

  // ---------------------------------------------------------------- the same command twice at once

  describe('the same command twice at once', () => {
    const rows: {
      description: string;
      subcommand: 'close' | 'pause' | 'resume';
      pausedFirst: boolean;
      success: string;
      refusal: RegExp;
      afterwards: (w: World, threadId: string, before: SalonRecord) => Promise<void>;
    }[] = [
      {
        description: 'two closes (starter and moderator) post one transcript and archive once',
        subcommand: 'close',
        pausedFirst: false,
        success: 'Closed by',
        refusal: /This salon is closed; its transcript has been posted\./,
        async afterwards(w, threadId) {
          const salon = await whenSalon(w.bot.engine, threadId, (s) => s.status === 'closed' && s.outbox.length === 0, WAIT_MS);
          expect(salon.turns).toHaveLength(1);
          expect(transcriptFiles(w.discord, threadId)).toHaveLength(1);
          const archives = w.discord.requests.filter(
            (r) => r.method === 'PATCH' && r.path === `/channels/${threadId}` && (r.body as { archived?: boolean } | null)?.archived === true,
          );
          expect(archives).toHaveLength(1);
          expect(archives[0]!.body).toMatchObject({ archived: true, locked: true });
          expect(w.discord.channel(threadId)!.thread_metadata).toMatchObject({ archived: true, locked: true });
          // The withdrawn public acknowledgement left nothing behind: no "thinking…" message in the thread.
          expect(w.discord.messages(threadId).filter((m) => (m.flags & MessageFlag.Loading) !== 0)).toEqual([]);
        },
      },
      {
        description: 'two pauses (starter and moderator) pause once',
        subcommand: 'pause',
        pausedFirst: false,
        success: 'Paused by',
        refusal: /already paused/,
        async afterwards(w, threadId, before) {
          const salon = (await w.bot.engine.get(threadId))!;
          expect(salon.status).toBe('paused');
          expect(salon.version).toBe(before.version + 1);
          expect(w.models.requests).toHaveLength(1);
        },
      },
      {
        description: 'two resumes (starter and moderator) resume once and take the next turn once',
        subcommand: 'resume',
        pausedFirst: true,
        success: 'Resumed by',
        refusal: /already running|finished all its rounds/,
        async afterwards(w, threadId) {
          const salon = await whenSalon(w.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, WAIT_MS);
          expect(salon.turns.map((t) => t.seat)).toEqual([0, 1]);
          expect(w.models.requests).toHaveLength(2);
          expect(turnMessages(w, threadId)).toHaveLength(2);
        },
      },
    ];

    it.each(rows)('$description', async ({ subcommand, pausedFirst, success, refusal, afterwards }) => {
      world = await hostileWorld();
      const threadId = await waitingSalon(world);
      if (pausedFirst) expect((await answerOf(world, command(world.discord, world.ada, threadId, 'pause'))).content).toContain('Paused by');
      const before = structuredClone((await world.bot.engine.get(threadId))!);

      const both = [command(world.discord, world.ada, threadId, subcommand), command(world.discord, world.mod, threadId, subcommand)];
      const answers = await Promise.all(both.map((ix) => answerOf(world!, ix)));
      expect(
        answers.filter((a) => !a.ephemeral && a.content.includes(success)),
        JSON.stringify(answers),
      ).toHaveLength(1);
      expect(
        answers.filter((a) => a.ephemeral && refusal.test(a.content)),
        JSON.stringify(answers),
      ).toHaveLength(1);
      await afterwards(world, threadId, before);
    });

    it('two starts with the same topic open two separate salons', async () => {
      world = await hostileWorld();
      const [one, two] = await Promise.all([startSalon(world, { topic: 'Twins' }), startSalon(world, { topic: 'Twins' }, world.bob)]);
      expect(one).not.toBe(two);
      const [a, b] = await Promise.all([settled(world, one), settled(world, two)]);
      expect([a.starter.name, b.starter.name]).toEqual(['Ada', 'Bob']);
      expect([a.topic, b.topic]).toEqual(['Twins', 'Twins']);
      expect(
        world.discord
          .threads()
          .map((t) => t.id)
          .sort(),
      ).toEqual([one, two].sort());
      expect(turnMessages(world, one)).toHaveLength(1);
      expect(turnMessages(world, two)).toHaveLength(1);
    });
  });
});
