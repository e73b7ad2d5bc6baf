import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, isFinishedNotice } from '../../src/domain/salon.js';
import { noticeText, pauseText } from '../../src/wording/index.js';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { redactStoreUrl, StoreError } from '../../src/store/store-error.js';
import { RecordError } from '../../src/engine/ports.js';
import { migrate } from '../../src/store/migrate.js';
import { tempDir } from '../helpers/tmp.js';
import { CLAUDE, GLM, newSalon } from '../domain/fixtures.js';

describe('opening a store and reading its records', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  it('lifts a schema 1 record: a notice still owed keeps the words it was saved with', () => {
    const finished = 'The salon has finished after 1 round. Use `/salon close` to post the transcript and archive the thread.';
    const failed = '⚠️ A could not take its turn: HTTP 401. The salon is paused; use `/salon resume` to try again.';
    const old = {
      ...newSalon({ id: 'old' }),
      schema: 1,
      // Schema 1 (and 2) kept the two seats by letter.
      seats: { A: CLAUDE, B: GLM },
      status: 'paused',
      pausedReason: 'budget reached: $0.50 spent of $0.50',
      outbox: [
        { key: 'old:header', kind: 'header', messageIds: ['m1'] },
        { key: 'old:failure:0:5', kind: 'notice', notice: 'failure', text: failed, messageIds: [] },
        { key: 'old:finished:2', kind: 'notice', notice: 'finished', text: finished, messageIds: [] },
      ],
    };
    const lifted = migrate(JSON.parse(JSON.stringify(old)));
    expect(lifted.schema).toBe(SCHEMA_VERSION);
    expect(lifted.outbox).toEqual([
      { key: 'old:header', kind: 'header', messageIds: ['m1'] },
      { key: 'old:failure:0:5', kind: 'notice', notice: { code: 'legacy', was: 'failure', text: failed }, messageIds: [] },
      { key: 'old:finished:2', kind: 'notice', notice: { code: 'legacy', was: 'finished', text: finished }, messageIds: [] },
    ]);
    // Why it paused keeps its words too, as /salon status shows them.
    expect(lifted.pausedReason).toEqual({ code: 'legacy', text: 'budget reached: $0.50 spent of $0.50' });
    expect(pauseText(lifted.pausedReason!)).toBe('budget reached: $0.50 spent of $0.50');
    const shown = lifted.outbox.flatMap((p) => (p.kind === 'notice' ? [noticeText(p.notice)] : []));
    expect(shown).toEqual([failed, finished]);
    // Still a "finished" notice: extending the salon before it is posted drops it, as it did before.
    expect(lifted.outbox.filter((p) => p.kind === 'notice' && isFinishedNotice(p.notice)).map((p) => p.key)).toEqual(['old:finished:2']);
  });

  it('refuses a record it cannot read instead of guessing', () => {
    expect(() => migrate('garbage')).toThrow(RecordError);
    expect(() => migrate({ schema: 99, id: 'x' })).toThrow(/newer than this version/);
    expect(() => migrate({ id: 'x' })).toThrow(/no schema version/);
    expect(() => migrate({ ...newSalon({ id: 'x' }), turns: 'no' })).toThrow(/turns/);
    expect(migrate(JSON.parse(JSON.stringify(newSalon({ id: 'ok' })))).id).toBe('ok');
  });

  it('stops with a clear message when the SQLite file cannot be written', async () => {
    if (process.getuid?.() === 0) {
      // root ignores file modes; a directory in place of the file is refused by SQLite for anyone.
      const err = await openKeyv(`sqlite://${dir.path}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toMatch(/^cannot use the store sqlite .*: SQLITE_CANTOPEN.*not writable/);
      return;
    }
    const file = join(dir.path, 'ro.sqlite');
    writeFileSync(file, '');
    chmodSync(file, 0o444);
    await expect(openKeyv(`sqlite://${file}`)).rejects.toThrow(/not writable/);
  });

  it('names an unsupported store URL and hides passwords', async () => {
    await expect(openKeyv('mongodb://x')).rejects.toThrow('SALON_STORE_URL: unsupported store "mongodb://x"; expected sqlite://, redis:// or postgres://');
    expect(redactStoreUrl('postgres://salon:hunter2@db:5432/salon')).toBe('postgres://salon:[redacted]@db:5432/salon');
  });
});
