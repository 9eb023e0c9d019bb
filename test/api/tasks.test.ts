/**
 * The task catalog over real HTTP on both backends (`GET /api/v1/tasks`): every task the server
 * declares (config tasks and contracts) with its effective defaults and payload JSON Schema, null
 * where the schema cannot be converted; every task a live worker implements, with the ids of those
 * workers, including one only another instance's worker knows (which POST /jobs refuses); a viewer's
 * read, 401 without a token, and the route in the OpenAPI document.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { defineTask } from '../../src/task.js';
import { sendInvoice } from '../library/fixtures/invoice-contracts.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

const TASKS = {
  'email.send': defineTask({
    schema: z.object({ to: z.string(), subject: z.string().optional() }),
    queue: 'mail',
    priority: 3,
    maxAttempts: 7,
    timeoutMs: 60_000,
    handler: () => ({ sent: true }),
  }),
  // zod has no JSON Schema for a Date: the converter throws, and the catalog says null.
  'calendar.remind': defineTask({ schema: z.object({ at: z.date() }), handler: () => null }),
  noop: () => 'done',
};

/** What the server says of a task it declares with the registry's defaults and no schema. */
const plain = { declared: true, queue: 'default', priority: 0, maxAttempts: 5, timeoutMs: null };

describe.each(BACKENDS)('GET /api/v1/tasks on %s', (backend) => {
  let s: TestServer;
  let other: Nightshift;

  beforeAll(async () => {
    s = await startTestServer(backend, { tasks: TASKS, contracts: [sendInvoice] });
    // Another process's instance on the same database, as a worker deployed with other tasks.
    other = await Nightshift.connect({
      db: s.store,
      migrate: false,
      logger: createLogger({ level: 'silent' }),
      tasks: { 'only.remote': () => null, noop: () => 'remote done' },
    });
  });
  afterAll(async () => {
    await other?.close();
    await s?.close();
  });

  const catalog = async () => {
    const response = await s.request('GET', '/api/v1/tasks', { token: s.tokens.viewer });
    expect(response.status).toBe(200);
    return response.body.tasks as Array<Record<string, unknown>>;
  };

  it('refuses a request without a token, and is in the OpenAPI document', async () => {
    const refused = await s.request('GET', '/api/v1/tasks', { token: null });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    const { body } = await s.request('GET', '/api/v1/openapi.json', { token: s.tokens.viewer });
    const operation = body.paths['/api/v1/tasks']?.get;
    expect(operation?.tags).toEqual(['tasks']);
    const schema = operation?.responses['200'].content['application/json'].schema as {
      properties: { tasks: { items: { title: string; properties: Record<string, unknown> } } };
    };
    expect(schema.properties.tasks.items.title).toBe('Task');
    expect(Object.keys(schema.properties.tasks.items.properties)).toEqual([
      'name',
      'declared',
      'queue',
      'priority',
      'maxAttempts',
      'timeoutMs',
      'payloadSchema',
      'workers',
    ]);
  });

  it('lists every declared task with its defaults and payload schema, by name, none served yet', async () => {
    expect(await catalog()).toEqual([
      { name: 'calendar.remind', ...plain, payloadSchema: null, workers: [] },
      {
        name: 'email.send',
        declared: true,
        queue: 'mail',
        priority: 3,
        maxAttempts: 7,
        timeoutMs: 60_000,
        payloadSchema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: { to: { type: 'string' }, subject: { type: 'string' } },
          required: ['to'],
        },
        workers: [],
      },
      {
        // A contract alone: the server enqueues it, with the contract's defaults.
        name: 'invoice.send',
        declared: true,
        queue: 'mail',
        priority: 0,
        maxAttempts: 2,
        timeoutMs: null,
        payloadSchema: expect.objectContaining({
          type: 'object',
          properties: {
            orderId: expect.objectContaining({ type: 'integer' }),
            copies: expect.objectContaining({ type: 'integer', default: 1 }),
          },
          required: ['orderId'],
        }),
        workers: [],
      },
      { name: 'noop', ...plain, payloadSchema: null, workers: [] },
    ]);
  });

  it('names the live workers implementing each task, and a task only a worker knows', async () => {
    const local = s.ns.startWorker({ workerId: 'local', queues: ['idle'], pollIntervalMs: 200 });
    const remote = other.startWorker({ workerId: 'remote', queues: ['idle'], pollIntervalMs: 200 });
    try {
      await waitUntil(async () => (await s.ns.workers()).length === 2, { message: 'both registered' });
      const tasks = await catalog();
      expect(tasks.map((task) => [task.name, task.declared, task.workers])).toEqual([
        ['calendar.remind', true, ['local']],
        ['email.send', true, ['local']],
        // Declared by a contract alone: no handler here, so no worker of this server runs it.
        ['invoice.send', true, []],
        ['noop', true, ['local', 'remote']],
        ['only.remote', false, ['remote']],
      ]);
      expect(tasks.find((task) => task.name === 'only.remote')).toEqual({
        name: 'only.remote',
        declared: false,
        queue: null,
        priority: null,
        maxAttempts: null,
        timeoutMs: null,
        payloadSchema: null,
        workers: ['remote'],
      });
      // Not declared: this server refuses to enqueue it.
      const refused = await s.request('POST', '/api/v1/jobs', {
        token: s.tokens.operator,
        body: { task: 'only.remote' },
      });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('unknown_task');
      // The library method behind the route answers the same.
      expect(await s.ns.taskCatalog()).toEqual(tasks);
    } finally {
      await Promise.all([local.stop(), remote.stop()]);
    }
    // Stopped workers leave at once, and so does the task only they knew.
    expect((await catalog()).map((task) => [task.name, task.workers])).toEqual([
      ['calendar.remind', []],
      ['email.send', []],
      ['invoice.send', []],
      ['noop', []],
    ]);
  });
});
