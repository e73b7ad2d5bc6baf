import { describe, expect, it } from 'vitest';
import { data } from '../../commands/salon.js';
import { descriptions } from '../../src/wording/index.js';

describe('slash command descriptions', () => {
  const json = data.toJSON();
  const subcommands = (json.options ?? []) as { name: string; description: string; options?: { name: string; description: string }[] }[];

  it('every description Discord is sent is the one src/wording keeps under the subcommand and option of that name', () => {
    expect(json.description).toBe(descriptions.salon);
    for (const sub of subcommands) {
      const own = descriptions[sub.name as Exclude<keyof typeof descriptions, 'salon'>] as Record<string, string>;
      expect(sub.description, sub.name).toBe(own.summary);
      for (const option of sub.options ?? []) expect(option.description, `${sub.name}.${option.name}`).toBe(own[option.name]);
    }
  });

  it('src/wording describes no subcommand or option that does not exist', () => {
    const described = Object.entries(descriptions).flatMap(([sub, d]) =>
      typeof d === 'string' ? [] : Object.keys(d).map((key) => (key === 'summary' ? sub : `${sub}.${key}`)),
    );
    const registered = subcommands.flatMap((sub) => [sub.name, ...(sub.options ?? []).map((o) => `${sub.name}.${o.name}`)]);
    expect(described.sort()).toEqual(registered.sort());
  });
});
