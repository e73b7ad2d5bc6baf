import { pauseText } from '../../src/wording/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderTranscript } from '../../src/domain/transcript.js';
import { PublishError } from '../../src/engine/ports.js';
import { FakeOpenAI, type ChatRequest } from '../fakes/openai-server.js';
import { testConfig } from '../helpers/config.js';
import { MemoryThreads } from '../helpers/memory-publisher.js';
import { tempDir } from '../helpers/tmp.js';
import { isDone, salonInputFor, startEngine, type Harness } from './harness.js';
import { whenSalon } from '../helpers/engine-events.js';

/** A promise the test resolves by hand, to hold a model request open at a chosen moment. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const roles = (req: ChatRequest) => req.body.messages.map((m) => m.role).join(',');

describe('engine', () => {
  let server: FakeOpenAI;
  let dir: ReturnType<typeof tempDir>;
  const harnesses: Harness[] = [];
  const storeUrl = () => `sqlite://${dir.path}/salons.sqlite`;

  beforeEach(async () => {
    server = await FakeOpenAI.start();
    dir = tempDir();
  });

  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.stop();
    await server.stop();
    dir.cleanup();
  });

  async function start(config = testConfig(server.baseURL), threads?: MemoryThreads) {
    const h = await startEngine(config, storeUrl(), threads);
    harnesses.push(h);
    return h;
  }

  it('runs a salon from topic to transcript: A, B, A, B, each seeing the other as the user', async () => {
    const config = testConfig(server.baseURL, { rounds: 2 });
    const { engine, publisher } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    const done = await whenSalon(engine, salon.id, isDone, 10_000);

    expect(done.turns.map((t) => [t.seat, t.round, t.name])).toEqual([
      [0, 1, 'Claude Opus 4.5'],
      [1, 1, 'GLM 4.7'],
      [0, 2, 'Claude Opus 4.5'],
      [1, 2, 'GLM 4.7'],
    ]);
    expect(server.requests.map((r) => r.body.model)).toEqual(['anthropic/claude-opus-4.5', 'z-ai/glm-4.7', 'anthropic/claude-opus-4.5', 'z-ai/glm-4.7']);
    // Each model sees its own turns as assistant and the other's as user, alternating and ending on the user.
    expect(server.requests.map(roles)).toEqual(['system,user', 'system,user', 'system,user,assistant,user', 'system,user,assistant,user']);
    const [, second, third, fourth] = server.requests;
    expect(second!.body.messages[1]!.content).toContain(done.turns[0]!.text);
    expect(third!.body.messages[2]!.content).toBe(done.turns[0]!.text);
    expect(fourth!.body.messages.at(-1)!.content).toContain('This is the final turn of the salon');
    expect(done.turns.every((t) => t.usage?.promptTokens && t.usage.completionTokens)).toBe(true);

    const thread = publisher.threads.messages(salon.id);
    expect(thread.map((m) => m.kind)).toEqual(['header', 'turn', 'turn', 'turn', 'turn', 'notice']);
    expect(thread.at(-1)!.text).toContain('finished after 2 rounds');
    // Typing shows while a model writes.
    expect(publisher.threads.typing.some((t) => t.salonId === salon.id && t.seat === 1)).toBe(true);

    const closed = await engine.close(salon.id);
    const archived = await whenSalon(engine, salon.id, (s) => s.status === 'closed' && s.outbox.length === 0, 5_000);
    expect(closed.status).toBe('closed');
    const transcript = publisher.threads.messages(salon.id).at(-1)!;
    expect(transcript.kind).toBe('archive');
    expect(transcript.text).toBe(renderTranscript(archived, new Date(archived.closedAt!)));
    expect(transcript.text.match(/^## Round \d: .+$/gm)).toEqual([
      '## Round 1: Claude Opus 4.5',
      '## Round 1: GLM 4.7',
      '## Round 2: Claude Opus 4.5',
      '## Round 2: GLM 4.7',
    ]);
  });

  it('gives each seat its own view when both seats are the same model', async () => {
    const config = testConfig(server.baseURL, { rounds: 2, sameModel: true });
    const { engine } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    const done = await whenSalon(engine, salon.id, isDone, 10_000);
    expect(server.requests.every((r) => r.body.model === 'anthropic/claude-opus-4.5')).toBe(true);
    // Turn 3 (seat A again) sees turn 1 as its own words and turn 2 as the other's.
    const third = server.requests[2]!.body.messages;
    expect(third[2]).toEqual({ role: 'assistant', content: done.turns[0]!.text });
    expect(third[3]!.role).toBe('user');
    expect(third[3]!.content).toContain(done.turns[1]!.text);
  });

  it('waits the configured delay between turns', async () => {
    const config = testConfig(server.baseURL, { rounds: 1, turnDelaySeconds: 1 });
    const { engine } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    await whenSalon(engine, salon.id, isDone, 10_000);
    const [first, second] = server.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
  });

  it('answers a question asked mid-turn on the next turn, and both models keep it', async () => {
    const config = testConfig(server.baseURL, { rounds: 2 });
    const hold = gate();
    server.setScript(async (req) => {
      if (req.index === 1) await hold.opened;
      return { text: `Turn ${req.index}.` };
    });
    const { engine } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    await server.waitForRequests(2);
    const { interjection } = await engine.ask(salon.id, { id: 'm1', author: { id: 'u2', name: 'Grace' }, text: 'What about memory?' });
    expect(interjection.afterTurns).toBe(2);
    hold.open();
    const done = await whenSalon(engine, salon.id, isDone, 10_000);

    // Turn 1 was already being written: it does not see the question; turn 2 answers it.
    expect(JSON.stringify(server.requests[1]!.body.messages)).not.toContain('What about memory?');
    const third = server.requests[2]!.body.messages;
    expect(third.at(-1)!.content).toContain('[Question from Grace, a person watching the salon]\nWhat about memory?');
    expect(third.at(-1)!.content).toContain('Answer the question from the audience above.');
    expect(done.turns[2]!.answered).toEqual(['m1']);
    expect(done.interjections[0]!.answeredBy).toBe(2);
    // The other model keeps it in context too, right before the answer.
    const fourth = server.requests[3]!.body.messages;
    expect(fourth.at(-1)!.content).toMatch(/\[Question from Grace[^\]]*\]\nWhat about memory\?\n\nClaude Opus 4.5:\nTurn 2\./);
    const transcript = renderTranscript(done, new Date(done.finishedAt!));
    expect(transcript.indexOf('## Question from Grace')).toBeGreaterThan(transcript.indexOf('## Round 1: GLM 4.7'));
    expect(transcript.indexOf('## Question from Grace')).toBeLessThan(transcript.indexOf('## Round 2: Claude Opus 4.5'));
  });

  it('keeps the turn being written when paused, then takes no more until resumed', async () => {
    const config = testConfig(server.baseURL, { rounds: 2 });
    const hold = gate();
    server.setScript(async (req) => {
      if (req.index === 1) await hold.opened;
      return { text: `Turn ${req.index}.` };
    });
    const { engine } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    await server.waitForRequests(2);
    await engine.pause(salon.id);
    hold.open();
    const paused = await whenSalon(engine, salon.id, (s) => s.turns.length === 2 && s.outbox.length === 0, 5_000);
    expect(paused.status).toBe('paused');
    expect(paused.nextTurnAt).toBeUndefined();
    expect(server.requests).toHaveLength(2);

    await engine.resume(salon.id);
    const done = await whenSalon(engine, salon.id, isDone, 10_000);
    expect(done.turns).toHaveLength(4);
    expect(server.requests).toHaveLength(4);
  });

  it('closes at once while a model is writing, dropping that turn and posting the transcript', async () => {
    const config = testConfig(server.baseURL, { rounds: 3 });
    server.setScript((req) => (req.index === 2 ? { hang: true } : { text: `Turn ${req.index}.` }));
    const { engine, publisher } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    await server.waitForRequests(3);
    await engine.close(salon.id);
    const closed = await whenSalon(engine, salon.id, (s) => s.status === 'closed' && s.outbox.length === 0, 5_000);
    expect(closed.turns).toHaveLength(2);
    const last = publisher.threads.messages(salon.id).at(-1)!;
    expect(last.kind).toBe('archive');
    expect(last.text).toContain('*The salon ended after 1 of 3 rounds.*');
    await expect(engine.close(salon.id)).rejects.toThrow(/closed/);
    await expect(engine.ask(salon.id, { id: 'late', author: { id: 'u', name: 'U' }, text: 'hello?' })).rejects.toThrow(/closed/);
  });

  it('resumes a half-done salon in a new engine over the same SQLite file, with no turn repeated or lost', async () => {
    const config = testConfig(server.baseURL, { rounds: 3 });
    const threads = new MemoryThreads();
    const first = await start(config, threads);
    // The "process" dies right after the third turn reached the thread, before it was marked as posted.
    let crashed = false;
    const crash = gate();
    first.publisher.fault = (post, phase) => {
      if (crashed || (post.kind === 'turn' && post.turnIndex === 2 && phase === 'after')) {
        crashed = true;
        crash.open();
        throw new Error('process killed');
      }
    };
    const salon = await first.engine.create(salonInputFor(config));
    await crash.opened;
    await first.engine.stop();
    const left = await first.store.get(salon.id);
    await first.store.close();
    harnesses.splice(harnesses.indexOf(first), 1);
    const requestsBefore = server.requests.length;
    expect(requestsBefore).toBe(3);

    expect(left!.turns).toHaveLength(3);
    expect(left!.outbox.map((p) => p.key)).toEqual([`${salon.id}:turn:2`]);

    const second = await start(config, threads);
    const done = await whenSalon(second.engine, salon.id, isDone, 10_000);
    expect(done.turns).toHaveLength(6);
    expect(server.requests).toHaveLength(6);
    const turnsInThread = threads.messages(salon.id).filter((m) => m.kind === 'turn');
    expect(turnsInThread.map((m) => m.text)).toEqual(done.turns.map((t) => t.text));
    // The third turn was delivered twice (once before the crash, once after) but shows once.
    expect(threads.deliveries.filter((k) => k === `${salon.id}:turn:2`).length).toBeGreaterThanOrEqual(2);
  });

  it('regenerates a turn whose model request was cut off by shutdown', async () => {
    const config = testConfig(server.baseURL, { rounds: 2 });
    server.setScript((req) => (req.index === 1 ? { hang: true } : { text: `Turn ${req.index}.` }));
    const threads = new MemoryThreads();
    const first = await start(config, threads);
    const salon = await first.engine.create(salonInputFor(config));
    await server.waitForRequests(2);
    await first.stop();
    harnesses.splice(harnesses.indexOf(first), 1);

    const second = await start(config, threads);
    const done = await whenSalon(second.engine, salon.id, isDone, 10_000);
    expect(done.turns.map((t) => t.text)).toEqual(['Turn 0.', 'Turn 2.', 'Turn 3.', 'Turn 4.']);
    expect(threads.messages(salon.id).filter((m) => m.kind === 'turn')).toHaveLength(4);
  });

  it('pauses with one notice when a model refuses the key, and tries again on resume', async () => {
    const config = testConfig(server.baseURL, { rounds: 1 });
    let refuse = true;
    server.setScript((req) =>
      req.body.model === 'z-ai/glm-4.7' && refuse ? { status: 401, error: 'Invalid API key sk-test-0123456789abcdef' } : { text: `Turn ${req.index}.` },
    );
    const { engine, publisher, lines } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    const paused = await whenSalon(engine, salon.id, (s) => s.status === 'paused' && s.outbox.length === 0, 5_000);
    expect(paused.failure).toMatchObject({ seat: 1, name: 'GLM 4.7' });
    expect(pauseText(paused.pausedReason!)).toContain('the API key was refused (HTTP 401');
    const notices = publisher.threads.messages(salon.id).filter((m) => m.kind === 'notice');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain('GLM 4.7 could not take its turn');
    expect(notices[0]!.text).not.toContain('sk-test');
    // 401 is not retried.
    expect(server.requests.filter((r) => r.body.model === 'z-ai/glm-4.7')).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('sk-test-0123456789abcdef');

    refuse = false;
    await engine.resume(salon.id);
    const done = await whenSalon(engine, salon.id, isDone, 5_000);
    expect(done.turns).toHaveLength(2);
    expect(done.failure).toBeUndefined();
  });

  it('applies commands at once while a post is stuck at Discord', async () => {
    const config = testConfig(server.baseURL, { rounds: 2 });
    const { engine, publisher } = await start(config);
    const slow = gate();
    const stuck = gate();
    const original = publisher.deliver.bind(publisher);
    publisher.deliver = async (salon, post, progress) => {
      if (post.kind === 'turn' && post.turnIndex === 0) {
        stuck.open();
        await slow.opened;
      }
      return original(salon, post, progress);
    };
    const salon = await engine.create(salonInputFor(config));
    await stuck.opened;
    // The post is still in flight, yet pause and a question go through.
    const paused = await engine.pause(salon.id);
    expect(paused.status).toBe('paused');
    await engine.ask(salon.id, { id: 'q', author: { id: 'u', name: 'Grace' }, text: 'Still there?' });
    slow.open();
    await engine.resume(salon.id);
    const done = await whenSalon(engine, salon.id, isDone, 5_000);
    expect(done.turns).toHaveLength(4);
    expect(done.interjections[0]!.answeredBy).toBe(1);
  });

  it('backs off between failed deliveries instead of retrying at once', async () => {
    const config = testConfig(server.baseURL, { rounds: 1 });
    const { engine, publisher } = await start(config);
    const attempts: number[] = [];
    publisher.fault = (post, phase) => {
      if (post.kind !== 'turn' || phase !== 'before') return;
      attempts.push(Date.now());
      if (attempts.length <= 3) throw new Error('Discord is having a moment');
    };
    const salon = await engine.create(salonInputFor(config));
    await whenSalon(engine, salon.id, isDone, 5_000);
    // Three failures of the first turn, then success; then the second turn at once.
    expect(attempts).toHaveLength(5);
    for (let i = 1; i <= 3; i++) expect(attempts[i]! - attempts[i - 1]!).toBeGreaterThanOrEqual(19);
  });

  it('stops delivering to a thread that refused for good until the salon is resumed', async () => {
    const config = testConfig(server.baseURL, { rounds: 1 });
    const { engine, publisher } = await start(config);
    let refuse = true;
    let tries = 0;
    let refusing = '';
    publisher.fault = (post, phase) => {
      if (post.kind === 'turn' && phase === 'before' && refuse && post.key.startsWith(`${refusing}:`)) {
        tries += 1;
        throw new PublishError('the thread is gone', true);
      }
    };
    const input = salonInputFor(config);
    refusing = input.id;
    const salon = await engine.create(input);
    const paused = await whenSalon(engine, salon.id, (s) => s.status === 'paused', 5_000);
    expect(pauseText(paused.pausedReason!)).toBe('the thread is gone');
    // A second salon runs to its end meanwhile; the first is not tried again.
    const other = await engine.create(salonInputFor(config));
    await whenSalon(engine, other.id, isDone, 5_000);
    expect(tries).toBe(1);
    refuse = false;
    await engine.resume(salon.id);
    const done = await whenSalon(engine, salon.id, isDone, 5_000);
    expect(done.turns).toHaveLength(2);
  });

  it('retries transient model failures at the engine level, then pauses with one notice', async () => {
    const config = testConfig(server.baseURL, { rounds: 1, maxRetries: 0 });
    let failures = 2;
    server.setScript(() => (failures-- > 0 ? { status: 503, error: 'overloaded' } : { text: 'Back again.' }));
    const { engine, publisher } = await start(config);
    const salon = await engine.create(salonInputFor(config));
    // The engine tries twice (maxAttempts 2), then pauses.
    const paused = await whenSalon(engine, salon.id, (s) => s.status === 'paused' && s.outbox.length === 0, 5_000);
    expect(server.requests).toHaveLength(2);
    expect(paused.failure).toMatchObject({ seat: 0, attempts: 2 });
    expect(pauseText(paused.pausedReason!)).toContain('server error (HTTP 503');
    expect(publisher.threads.messages(salon.id).filter((m) => m.kind === 'notice')).toHaveLength(1);

    await engine.resume(salon.id);
    const done = await whenSalon(engine, salon.id, isDone, 5_000);
    expect(done.turns.map((t) => t.text)).toEqual(['Back again.', 'Back again.']);
  });
});
