/**
 * The engine in moderated order, with a real store and the real model client: a save that fails right after the
 * moderator answered (the pick and the turn's start are saved together) is retried, and the salon goes on.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeOpenAI, responseSchemaOf } from '../fakes/openai-server.js';
import { testConfig } from '../helpers/config.js';
import { whenSalon } from '../helpers/engine-events.js';
import { tempDir } from '../helpers/tmp.js';
import { isDone, salonInputFor, startEngine, type Harness } from './harness.js';

describe('the engine in moderated order', () => {
  let models: FakeOpenAI | undefined;
  let harness: Harness | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await harness?.stop();
    await models?.stop();
    dir?.cleanup();
  });

  it('retries a pick whose save failed, without leaving the salon stuck', async () => {
    models = await FakeOpenAI.start((req) =>
      responseSchemaOf(req) ? { json: { speaker: 'GPT 5', reason: 'not heard yet' } } : { text: `Turn ${req.index}.` },
    );
    const config = testConfig(models.baseURL, { rounds: 1 });
    config.models.gpt = { ...config.models.glm!, key: 'gpt', name: 'GPT 5', model: 'openai/gpt-5' };
    config.models.mod = { ...config.models.glm!, key: 'mod', name: 'Moderator', model: 'openai/gpt-5-mini' };
    config.salon.moderator = 'mod';
    dir = tempDir();
    harness = await startEngine(config, `sqlite://${join(dir.path, 'salons.sqlite')}`);
    const { store } = harness;
    // The first save that starts a turn after a moderator's answer fails, as a store does when briefly unavailable.
    const save = store.save.bind(store);
    let failed = 0;
    store.save = async (record, change) => {
      if (failed === 0 && record.moderation && record.writing) {
        failed += 1;
        throw new Error('the store is briefly unavailable');
      }
      return save(record, change);
    };
    const input = salonInputFor(config, {
      order: 'moderated',
      moderator: { key: 'mod', name: 'Moderator', model: 'openai/gpt-5-mini' },
      seats: [...salonInputFor(config).seats, { key: 'gpt', name: 'GPT 5', model: 'openai/gpt-5' }],
    });
    await harness.engine.create(input);
    const done = await whenSalon(harness.engine, input.id, isDone, 10_000);
    expect(failed).toBe(1);
    expect(done.turns.map((t) => t.name)).toEqual(['GPT 5', 'Claude Opus 4.5', 'GLM 4.7']);
    expect(done.turns[0]!.index).toBe(0);
  });
});
