/**
 * The Enqueue job form's "Fill from schema" (dashboard/src/payload-skeleton.ts): the required
 * properties of a task's payload JSON Schema, as zod and hand-written schemas give them, each with its
 * default, const, first enum value or an empty value of its type; optional ones left out; local
 * references followed, a recursive schema cut off.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { payloadSkeleton } from '../../dashboard/src/payload-skeleton.js';

const skeleton = (schema: Record<string, unknown>): unknown => JSON.parse(payloadSkeleton(schema));

describe('payloadSkeleton', () => {
  it('gives every required property of a zod schema a value of its type, and leaves optional ones out', () => {
    const schema = z.object({
      to: z.string().email(),
      copies: z.number().int().default(2),
      kind: z.enum(['invoice', 'receipt']),
      urgent: z.boolean(),
      tags: z.array(z.string()),
      version: z.literal(3),
      window: z.object({ days: z.number().min(1), note: z.string().optional() }),
      replyTo: z.string().nullable(),
      subject: z.string().optional(),
    });
    const json = schema['~standard'].jsonSchema.input({ target: 'draft-2020-12' });
    expect(skeleton(json)).toEqual({
      to: '',
      // copies has a default, so a producer may leave it out: the input schema does not require it.
      kind: 'invoice',
      urgent: false,
      tags: [],
      version: 3,
      window: { days: 1 },
      replyTo: '',
    });
    expect(payloadSkeleton(json)).toMatch(/^\{\n {2}"to": "",\n/);
  });

  it('follows local references, and cuts a recursive schema off with null', () => {
    expect(
      skeleton({
        type: 'object',
        required: ['owner', 'tree'],
        properties: { owner: { $ref: '#/$defs/Person' }, tree: { $ref: '#/definitions/Node' } },
        $defs: { Person: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
        definitions: {
          Node: {
            type: 'object',
            required: ['child'],
            properties: { child: { $ref: '#/definitions/Node' } },
          },
        },
      }),
    ).toMatchObject({ owner: { name: '' }, tree: { child: { child: { child: {} } } } });
  });

  it('takes the first option that is not null, a type list without null, and null for what it cannot tell', () => {
    expect(
      skeleton({
        type: 'object',
        required: ['a', 'b', 'c', 'd'],
        properties: {
          a: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
          b: { type: ['null', 'string'] },
          c: {},
          d: { not: { type: 'string' } },
        },
      }),
    ).toEqual({ a: 0, b: '', c: null, d: null });
    expect(skeleton({ type: 'string' })).toBe('');
    expect(skeleton({ type: 'array', items: { type: 'number' } })).toEqual([]);
  });
});
