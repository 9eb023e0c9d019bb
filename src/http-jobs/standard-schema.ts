/**
 * A Standard Schema (the interface nightshift validates payloads with) over a TypeBox schema, which
 * does not implement it itself. TypeBox's structural errors are turned into one clear message per
 * problem: a union reports what it accepts (its `description`) rather than one error per branch.
 * `refine` adds the checks a JSON schema cannot express; it runs once the structure is right.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';

/** One problem: a message and where in the value it is. */
export interface Issue {
  message: string;
  path: string[];
}

/** The Standard Schema for `schema`, with `refine` for the checks beyond its structure. */
export function typeboxStandardSchema<T extends TSchema>(
  schema: T,
  refine: (value: Static<T>) => Issue[],
): StandardSchemaV1<Static<T>> {
  return {
    '~standard': {
      version: 1,
      vendor: 'nightshift',
      validate(value) {
        if (!Value.Check(schema, value)) return { issues: structuralIssues(schema, value) };
        const issues = refine(value);
        return issues.length > 0 ? { issues } : { value };
      },
    },
  };
}

function structuralIssues(schema: TSchema, value: unknown): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const error of Value.Errors(schema, value)) {
    // Errors inside a union's branches repeat what the union's own error says better; `false` schemas
    // (no additional properties) repeat the additionalProperties error.
    if (error.schemaPath.includes('/anyOf/') || error.keyword === 'boolean') continue;
    const issue = { message: messageOf(schema, error), path: pathOf(error.instancePath) };
    const key = `${issue.path.join('/')}\n${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

type TypeboxError = ReturnType<typeof Value.Errors>[number];

function messageOf(schema: TSchema, error: TypeboxError): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'anyOf': {
      const description = (schemaAt(schema, error.schemaPath) as { description?: unknown } | undefined)
        ?.description;
      return typeof description === 'string' ? `must be ${description}` : error.message;
    }
    case 'enum':
      return `must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`;
    case 'additionalProperties':
      return `unknown field ${(params['additionalProperties'] as string[]).map((k) => `"${k}"`).join(', ')}`;
    case 'required':
      return `missing required field ${(params['requiredProperties'] as string[]).map((k) => `"${k}"`).join(', ')}`;
    default:
      return error.message;
  }
}

/** The sub-schema a JSON pointer (`#/properties/a/...`) names. */
function schemaAt(schema: TSchema, pointer: string): unknown {
  let node: unknown = schema;
  for (const segment of pathOf(pointer.replace(/^#/, ''))) {
    node = (node as Record<string, unknown> | undefined)?.[segment];
  }
  return node;
}

function pathOf(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}
