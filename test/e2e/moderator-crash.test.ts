/**
 * kill -9 around the moderator's pick, with the bot as a real process: before the moderator is asked, while it is
 * being asked, and after its pick is saved while the chosen seat writes. A new process on the same store finishes the
 * salon with every turn shown once, every seat once a round, and a saved pick never made again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployCommands } from '../../src/deploy-commands.js';
import { FakeDiscord, type Member } from '../fakes/discord/index.js';
import { FakeOpenAI, responseSchemaOf, type ChatRequest, type Reply } from '../fakes/openai-server.js';
import { command } from '../helpers/command.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';
import { ChildBot } from './child-bot.js';

const NAMES = ['Claude Opus 4.5', 'GLM 4.7', 'GPT 5', 'Gemini 3'];
const ROUNDS = 2;

function panelYaml(baseURL: string, turnDelaySeconds: number): string {
  const model = (key: string, name: string, id: string) =>
    `  ${key}: { name: ${name}, model: ${id}, baseURL: "${baseURL}", apiKeyEnv: TEST_MODEL_KEY, timeoutSeconds: 10, maxRetries: 1 }`;
  return [
    'models:',
    model('claude', 'Claude Opus 4.5', 'anthropic/claude-opus-4.5'),
    model('glm', 'GLM 4.7', 'z-ai/glm-4.7'),
    model('gpt', 'GPT 5', 'openai/gpt-5'),
    model('gemini', 'Gemini 3', 'google/gemini-3-pro'),
    model('mod', 'Moderator Mini', 'openai/gpt-5-mini'),
    'panels: { four: [claude, glm, gpt, gemini] }',
    `salon: { modelA: claude, modelB: glm, rounds: ${ROUNDS}, turnDelaySeconds: ${turnDelaySeconds}, stream: false, order: moderated, moderator: mod, moderatorTimeoutSeconds: 20 }`,
    '',
  ].join('\n');
}

const isModerator = (req: ChatRequest) => responseSchemaOf(req) !== undefined;
/** The moderator always names the last seat that may speak: never what the fallback (least recent, seat order) would pick. */
function lastEligible(req: ChatRequest): Reply {
  const names = (responseSchemaOf(req) as { properties: { speaker: { enum: string[] } } }).properties.speaker.enum;
  return { json: { speaker: names.at(-1), reason: 'last in line' } };
}

describe('kill -9 around the moderator’s pick', () => {
  let discord: FakeDiscord;
  let models: FakeOpenAI;
  let dir: ReturnType<typeof tempDir>;
  let ada: Member;
  const children: ChildBot[] = [];

  beforeEach(async () => {
    dir = tempDir();
    discord = await FakeDiscord.start({ rateLimits: { perChannel: { count: 5, windowMs: 1_000 } } });
    models = await FakeOpenAI.start();
    await deployCommands({ token: discord.token, apiBase: discord.apiBase, guildId: discord.guildId });
    ada = discord.addMember({ username: 'ada', globalName: 'Ada' });
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) await child.kill();
    await discord.stop();
    await models.stop();
    dir.cleanup();
  });

  async function launch(turnDelaySeconds = 0): Promise<ChildBot> {
    const child = ChildBot.start({
      apiBase: discord.apiBase,
      token: discord.token,
      modelsBaseURL: models.baseURL,
      dir: dir.path,
      configText: panelYaml(models.baseURL, turnDelaySeconds),
    });
    children.push(child);
    await child.waitForLog((l) => l.msg === 'engine started');
    return child;
  }

  /** Waits until the requests the model server has had satisfy `enough`. */
  function modelRequests(enough: (requests: ChatRequest[]) => boolean, description: string): Promise<true> {
    return waitUntil(
      () => enough(models.requests) || undefined,
      (recheck) => {
        models.on('request', recheck);
        return () => models.off('request', recheck);
      },
      15_000,
      () => `${description}: not within 15 s (${models.requests.length} requests)`,
    );
  }

  async function startPanel(): Promise<string> {
    const reply = await command(discord, ada, undefined, 'start', { topic: 'Crash-proof panels', panel: 'four' }).response(15_000);
    return /<#(\d+)>/.exec(reply.content)![1]!;
  }

  /** The speakers of the turns the thread shows, in order. */
  function shown(threadId: string): string[] {
    return discord
      .messages(threadId)
      .filter((m) => NAMES.includes(m.author.username))
      .map((m) => m.author.username);
  }

  /** Waits for the salon to finish, then checks what a person in the thread sees: each turn once, each seat once a round. */
  async function expectEachTurnOnce(threadId: string): Promise<string[]> {
    await discord.waitFor(() => discord.messages(threadId).some((m) => m.content.includes('finished after')), {
      timeoutMs: 30_000,
      description: 'the salon to finish',
    });
    const turns = discord.messages(threadId).filter((m) => NAMES.includes(m.author.username));
    expect(turns).toHaveLength(NAMES.length * ROUNDS);
    expect(new Set(turns.map((m) => m.content)).size).toBe(turns.length);
    const speakers = shown(threadId);
    for (let round = 0; round < ROUNDS; round++) expect([...speakers.slice(round * 4, round * 4 + 4)].sort()).toEqual([...NAMES].sort());
    expect(discord.violations).toEqual([]);
    return speakers;
  }

  it('before the moderator is asked: the new process asks once and goes on', async () => {
    models.setScript((req) => (isModerator(req) ? lastEligible(req) : { text: `Turn ${req.index}.` }));
    const first = await launch(2);
    const threadId = await startPanel();
    // The first turn is shown; the next pick waits out the delay: nobody has asked the moderator for it yet.
    await discord.waitFor(() => shown(threadId).length === 1 || undefined, { timeoutMs: 15_000, description: 'the first turn' });
    const askedBefore = models.requests.filter(isModerator).length;
    await first.kill('SIGKILL');
    expect(askedBefore).toBe(1);
    await launch(0);
    const speakers = await expectEachTurnOnce(threadId);
    // Three picks a round need the moderator; none was asked twice.
    expect(models.requests.filter(isModerator)).toHaveLength(3 * ROUNDS);
    expect(speakers.slice(0, 4)).toEqual(['Gemini 3', 'GPT 5', 'GLM 4.7', 'Claude Opus 4.5']);
  });

  it('while the moderator is being asked: the question is asked again, and the turn shown once', async () => {
    let moderatorCalls = 0;
    models.setScript((req) => {
      if (!isModerator(req)) return { text: `Turn ${req.index}.` };
      moderatorCalls += 1;
      // The second pick hangs until the process is killed.
      return moderatorCalls === 2 ? { hang: true } : lastEligible(req);
    });
    const first = await launch();
    const threadId = await startPanel();
    await modelRequests((reqs) => reqs.filter(isModerator).length === 2, 'the second pick asked');
    await first.kill('SIGKILL');
    await launch();
    const speakers = await expectEachTurnOnce(threadId);
    // The killed call's pick was never saved: asked once more, then each pick once.
    expect(models.requests.filter(isModerator)).toHaveLength(3 * ROUNDS + 1);
    expect(speakers.slice(0, 4)).toEqual(['Gemini 3', 'GPT 5', 'GLM 4.7', 'Claude Opus 4.5']);
  });

  it('after the pick is saved, while the chosen seat writes: the pick stands, never asked again', async () => {
    let turnRequests = 0;
    models.setScript((req) => {
      if (isModerator(req)) return lastEligible(req);
      turnRequests += 1;
      // The second turn (GPT 5, the moderator's pick) hangs until the process is killed.
      return turnRequests === 2 ? { hang: true } : { text: `Turn ${req.index}.` };
    });
    const first = await launch();
    const threadId = await startPanel();
    await modelRequests((reqs) => reqs.filter((r) => !isModerator(r)).length === 2, 'the second turn asked');
    const hung = models.requests.filter((r) => !isModerator(r))[1]!;
    expect(hung.body.model).toBe('openai/gpt-5');
    const asked = models.requests.filter(isModerator).length;
    await first.kill('SIGKILL');
    await launch();
    const speakers = await expectEachTurnOnce(threadId);
    // The restarted process wrote GPT's turn without asking the moderator again for it.
    expect(speakers.slice(0, 4)).toEqual(['Gemini 3', 'GPT 5', 'GLM 4.7', 'Claude Opus 4.5']);
    const afterRestart = models.requests.filter((r) => r.index > hung.index);
    expect(afterRestart.find((r) => !isModerator(r))!.body.model).toBe('openai/gpt-5');
    expect(asked).toBe(2);
    expect(models.requests.filter(isModerator)).toHaveLength(3 * ROUNDS);
  });
});
