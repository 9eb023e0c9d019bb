/**
 * A starting payload from a task's JSON Schema (the Enqueue job form's "Fill from schema"): an object
 * with each required property, nested objects likewise, every value its schema's `default`, `const`
 * or first `enum` value, else an empty value of its type ("" , 0, false, [], {}), else null. Optional
 * properties are left out: the person adds what they mean to send. A `$ref` to the schema's own
 * `$defs` (or `definitions`) is followed, a few levels deep at most, so a recursive schema ends.
 */

type Schema = Record<string, unknown>;

// Deep enough for any payload a person types by hand; a recursive schema stops here with null.
const MAX_DEPTH = 8;

/** The skeleton of `schema`'s required parts as pretty-printed JSON. */
export function payloadSkeleton(schema: Schema): string {
  return JSON.stringify(sampleOf(schema, schema, 0), null, 2);
}

function sampleOf(schema: unknown, root: Schema, depth: number): unknown {
  if (!isSchema(schema) || depth > MAX_DEPTH) return null;
  if ('default' in schema) return schema['default'];
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  if (typeof schema['$ref'] === 'string') return sampleOf(resolve(schema['$ref'], root), root, depth + 1);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options: unknown = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      // allOf's parts all hold; one of them is a start. For the others, the first option that is not null.
      const chosen: unknown =
        options.find((option: unknown) => !(isSchema(option) && option['type'] === 'null')) ?? options[0];
      return sampleOf(chosen, root, depth + 1);
    }
  }
  const type = Array.isArray(schema['type'])
    ? (schema['type'] as unknown[]).find((t) => t !== 'null')
    : schema['type'];
  switch (type) {
    case 'object':
      return objectOf(schema, root, depth);
    case 'array':
      return [];
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return typeof schema['minimum'] === 'number' && schema['minimum'] > 0 ? schema['minimum'] : 0;
    case 'boolean':
      return false;
    default:
      // Properties without a type still describe an object.
      return isSchema(schema['properties']) ? objectOf(schema, root, depth) : null;
  }
}

function objectOf(schema: Schema, root: Schema, depth: number): Record<string, unknown> {
  const properties = isSchema(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  const object: Record<string, unknown> = {};
  for (const name of required) {
    if (typeof name === 'string') object[name] = sampleOf(properties[name], root, depth + 1);
  }
  return object;
}

/** A local reference (`#/$defs/Name`, `#/definitions/Name`, `#`) in the root schema, or undefined. */
function resolve(ref: string, root: Schema): unknown {
  if (ref === '#') return root;
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (match === null) return undefined;
  const defs = root[match[1] ?? ''];
  const name = (match[2] ?? '').replaceAll('~1', '/').replaceAll('~0', '~');
  return isSchema(defs) ? defs[name] : undefined;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
