/**
 * A small JSON Schema checker for the parts of draft 2020-12 the export's schema uses ($ref to $defs, type, const,
 * enum, anyOf, properties, required, additionalProperties: false, items, minItems, minimum, format date-time), so a
 * test can hold an export to its published schema without another dependency. Returns the problems, by path.
 */
type Schema = Record<string, unknown>;

const TYPES: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  integer: (v) => Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
  null: (v) => v === null,
  array: (v) => Array.isArray(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

export function validateAgainst(root: Schema, value: unknown): string[] {
  const problems: string[] = [];
  const check = (schema: Schema, v: unknown, path: string): void => {
    if (typeof schema.$ref === 'string') {
      const name = /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1];
      const target = name ? (root.$defs as Record<string, Schema> | undefined)?.[name] : undefined;
      if (!target) return void problems.push(`${path}: unresolvable $ref ${schema.$ref}`);
      return check(target, v, path);
    }
    if (Array.isArray(schema.anyOf)) {
      const fits = (schema.anyOf as Schema[]).some((option) => validateAgainst({ ...root, ...option, $defs: root.$defs }, v).length === 0);
      if (!fits) problems.push(`${path}: matches none of anyOf`);
      return;
    }
    if ('const' in schema && v !== schema.const) problems.push(`${path}: expected ${JSON.stringify(schema.const)}`);
    if (Array.isArray(schema.enum) && !schema.enum.includes(v)) problems.push(`${path}: not one of ${JSON.stringify(schema.enum)}`);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
      if (!types.some((t) => TYPES[t]?.(v))) return void problems.push(`${path}: expected ${types.join(' or ')}, got ${JSON.stringify(v)}`);
    }
    if (typeof schema.minimum === 'number' && typeof v === 'number' && v < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
    if (schema.format === 'date-time' && typeof v === 'string' && Number.isNaN(Date.parse(v))) problems.push(`${path}: not a date-time`);
    if (Array.isArray(v)) {
      if (typeof schema.minItems === 'number' && v.length < schema.minItems) problems.push(`${path}: fewer than ${schema.minItems} items`);
      if (schema.items) v.forEach((item, i) => check(schema.items as Schema, item, `${path}[${i}]`));
    }
    if (TYPES.object!(v) && (schema.properties || schema.required)) {
      const object = v as Record<string, unknown>;
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      for (const key of (schema.required ?? []) as string[]) if (!(key in object)) problems.push(`${path}.${key}: missing`);
      for (const [key, item] of Object.entries(object)) {
        if (properties[key]) check(properties[key], item, `${path}.${key}`);
        else if (schema.additionalProperties === false) problems.push(`${path}.${key}: not in the schema`);
      }
    }
  };
  check(root, value, '$');
  return problems;
}
