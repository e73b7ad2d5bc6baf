/** The README's example of the JSON export is one the export's schema accepts, so the docs cannot drift from it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SALON_EXPORT_SCHEMA } from '../../src/web/render/export-json.js';
import { validateAgainst } from '../helpers/json-schema.js';

it('the README’s JSON export example fits the published schema', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const example = /### The JSON export[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  expect(validateAgainst(SALON_EXPORT_SCHEMA, JSON.parse(example!))).toEqual([]);
});
