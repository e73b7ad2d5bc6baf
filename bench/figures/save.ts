/**
 * A diagnostic beside figures 1 and 2: what one saved change costs the engine as a salon's history grows. The
 * engine applies every change to a structuredClone of the whole record and saves the whole record (KeyvSalonStore
 * over @keyv/sqlite); a turn makes at least three such changes (commit, each posted part, delivered). Measured in
 * the bench process with the project's store code on a temporary SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { buildRecord } from '../lib/seed.js';
import { median } from '../lib/stats.js';

export interface SaveCost {
  turns: number;
  recordBytes: number;
  cloneMs: number;
  saveMs: number;
}

export async function saveCosts(turnCounts: number[], repeats = 30): Promise<SaveCost[]> {
  const dir = mkdtempSync(join(tmpdir(), 'salon-bench-save-'));
  const opened = await openKeyv(`sqlite://${join(dir, 'salons.sqlite')}`);
  const store = new KeyvSalonStore(opened.keyv, opened.close);
  const costs: SaveCost[] = [];
  try {
    for (const turns of turnCounts) {
      const record = buildRecord({ id: `7${String(turns).padStart(17, '0')}`, tag: turns, rounds: 50, turnsDone: turns, createdAt: Date.UTC(2025, 11, 27) });
      const clone: number[] = [];
      const save: number[] = [];
      for (let i = 0; i < repeats + 3; i++) {
        let t = performance.now();
        const draft = structuredClone(record);
        const c = performance.now() - t;
        draft.version += 1;
        t = performance.now();
        await store.save(draft);
        const s = performance.now() - t;
        if (i >= 3) {
          clone.push(c);
          save.push(s);
        }
      }
      costs.push({ turns, recordBytes: JSON.stringify(record).length, cloneMs: median(clone), saveMs: median(save) });
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return costs;
}
