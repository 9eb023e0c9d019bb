/**
 * Values neither store can hold are refused before anything is written (validation/bounds.ts), the
 * same on both backends; values within the bounds round-trip exactly; and a store failure nothing
 * maps reaches the caller as `NightshiftError('internal')` with the driver's error as its cause.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NightshiftError, type ErrorCode } from '../../src/errors.js';
import type { EnqueueOptions } from '../../src/enqueue.js';
import { Nightshift } from '../../src/nightshift.js';
import { createLogger } from '../../src/logger.js';
import type { NewJob } from '../../src/store/store.js';
import {
  EARLIEST_DATE,
  INT32_MAX,
  INT32_MIN,
  LATEST_DATE,
  MAX_KEY_BYTES,
  MAX_NAME_BYTES,
  MAX_TIMER_MS,
} from '../../src/validation/bounds.js';
import { newJob } from '../support/jobs.js';
import { BACKEND, engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();
const tasks = { t: (payload: unknown) => payload };

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error;
  }
  return undefined;
}

async function expectRefused(
  promise: Promise<unknown> | (() => unknown),
  code: ErrorCode,
  message: RegExp,
): Promise<void> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(NightshiftError);
  expect(error).toMatchObject({ code, message: expect.stringMatching(message) as unknown });
}

async function jobCount(ns: Nightshift): Promise<number> {
  return (await ns.listJobs({ limit: 1_000 })).jobs.length;
}

describe('bounds', () => {
  it('refuses what PostgreSQL cannot store or Node cannot time, naming the option and its range', async () => {
    const ns = await env.connect({ tasks });
    const cases: Array<[EnqueueOptions, RegExp]> = [
      [{ priority: 2 ** 31 }, /^priority must be an integer from -2147483648 to 2147483647, got 2147483648$/],
      [{ maxAttempts: 2 ** 31 }, /^maxAttempts must be an integer from 1 to 2147483647/],
      [{ timeoutMs: 2 ** 31 }, /^timeoutMs must be an integer from 1 to 2147483647/],
      [{ leaseMs: 2 ** 31 }, /^leaseMs must be an integer from 1 to 2147483647/],
      [{ delayMs: 1e300 }, /^delayMs must be a number from 0 to 3155760000000, got 1e\+300$/],
      [
        { runAt: new Date(-8.64e15) },
        /^runAt must be a valid Date .* from 1970-01-01T00:00:00.000Z to 9999-12-31/,
      ],
      [{ runAt: new Date(Number.NaN) }, /^runAt must .* got Invalid Date$/],
      [
        { idempotencyKey: 'k'.repeat(10_000) },
        /^idempotencyKey must be at most 1024 bytes of UTF-8, got 10000$/,
      ],
      [{ idempotencyKey: 'é'.repeat(513) }, /^idempotencyKey must be at most 1024 bytes of UTF-8, got 1026$/],
      [{ queue: 'q'.repeat(256) }, /^queue must be at most 255 bytes/],
      [{ queue: 'a\u0000b' }, /^queue must not contain NUL/],
      [{ idempotencyKey: 'half \uD800' }, /^idempotencyKey must not contain NUL or unpaired surrogate/],
    ];
    for (const [options, message] of cases) {
      await expectRefused(ns.enqueue('t', null, options), 'invalid_argument', message);
      await expectRefused(
        ns.enqueueMany([{ task: 't' }, { task: 't', options }]),
        'invalid_argument',
        new RegExp(`^item 1: ${message.source.slice(1)}`),
      );
    }
    await expectRefused(ns.enqueue('x'.repeat(300)), 'invalid_argument', /^task must be at most 255 bytes/);
    // A misspelt option or an option beside an item's `options` is refused, not dropped.
    await expectRefused(
      ns.enqueue('t', null, { delay: 60_000 } as EnqueueOptions),
      'invalid_argument',
      /^unknown enqueue option "delay"; the options are queue, priority, runAt, delayMs,/,
    );
    await expectRefused(
      ns.enqueueMany([{ task: 't' }, { task: 't', queue: 'mail' } as { task: 't' }]),
      'invalid_argument',
      /^item 1: unknown item field "queue": an item is \{ task, payload, options \}, a job's options go in options$/,
    );
    await expectRefused(
      ns.enqueueMany([null as unknown as { task: 't' }]),
      'invalid_argument',
      /^item 0: an item is an object \{ task, payload, options \}$/,
    );
    expect(await jobCount(ns)).toBe(0);

    await expectRefused(
      () => ns.startWorker({ timeoutMs: 2 ** 31 }),
      'invalid_argument',
      /^worker option timeoutMs must be an integer from 1 to 2147483647/,
    );
    // A scheduler's poll past Node's timer limit was a 1 ms busy loop; its outage bound, a fatal at once.
    await expectRefused(
      () => ns.startScheduler({ pollIntervalMs: 2 ** 31 }),
      'invalid_argument',
      /^scheduler pollIntervalMs must be an integer from 1 to 2147483647/,
    );
    await expectRefused(
      () => ns.startScheduler({ maxStoreDownMs: 2 ** 31 }),
      'invalid_argument',
      /^scheduler maxStoreDownMs must be an integer from 0 to 2147483647/,
    );
    await expectRefused(
      () => ns.startWorker({ queues: ['q'.repeat(300)] }),
      'invalid_argument',
      /^worker option queues must be at most 255 bytes/,
    );
    await expectRefused(
      env.connect({ tasks: { slow: { handler: () => null, timeoutMs: 2 ** 31 } } }),
      'config_error',
      /^task "slow": timeoutMs must be an integer from 1 to 2147483647/,
    );
    await expectRefused(
      ns.schedules.create({ id: 's', task: 't', everyMs: 1e300 }),
      'invalid_argument',
      /^schedule "s": everyMs must be an integer from 100 to 3155760000000/,
    );
    await expectRefused(
      ns.schedules.create({ id: 's', task: 't', everyMs: 60_000, priority: 2 ** 31 }),
      'invalid_argument',
      /^schedule "s": priority must be an integer from -2147483648/,
    );
    expect((await ns.schedules.list()).schedules).toEqual([]);
    // A wait past Node's timer limit used to time out at once.
    await expectRefused(
      ns.waitFor('0193a0b1-0000-7000-8000-000000000001', { timeoutMs: 2 ** 31 }),
      'invalid_argument',
      /^timeoutMs must be a number from 0 to 2147483647, got 2147483648$/,
    );
  });

  it('stores the extremes of every range exactly', async () => {
    const ns = await env.connect({ tasks });
    const extremes: EnqueueOptions[] = [
      { priority: INT32_MIN, runAt: EARLIEST_DATE, maxAttempts: INT32_MAX },
      {
        priority: INT32_MAX,
        runAt: LATEST_DATE,
        timeoutMs: MAX_TIMER_MS,
        leaseMs: MAX_TIMER_MS,
        // Two bytes per character: the byte bound, not the length, is the limit.
        idempotencyKey: 'é'.repeat(MAX_KEY_BYTES / 2),
        queue: '😀'.repeat(MAX_NAME_BYTES / 4) + 'abc',
      },
    ];
    for (const options of extremes) {
      const { id } = await ns.enqueue('t', { n: 1 }, options);
      const job = await ns.getJob(id);
      expect(job).toMatchObject(options);
    }
  });

  it('wraps a driver error nothing maps as internal, with the driver error as its cause', async () => {
    const ns = await env.connect({ tasks });
    // Past the validation, straight at the store: a row each backend's driver refuses.
    const row: NewJob =
      BACKEND === 'postgres'
        ? newJob({ priority: 2 ** 31 })
        : newJob({ task: { not: 'a string' } as unknown as string });
    const error = await failure(ns.store.jobInsertMany({ jobs: [row] }));
    expect(error).toBeInstanceOf(NightshiftError);
    expect(error).toMatchObject({
      code: 'internal',
      message: expect.stringMatching(/^unexpected/) as unknown,
    });
    const cause = (error as NightshiftError).cause;
    expect(cause).toBeInstanceOf(Error);
    expect(cause).not.toBeInstanceOf(NightshiftError);
    if (BACKEND === 'postgres') expect(cause).toMatchObject({ code: '22003' });
  });

  it.runIf(BACKEND === 'postgres')(
    'refuses a database or role the server does not know as config_error',
    async () => {
      for (const db of [
        'postgres://postgres@127.0.0.1:5432/nightshift_no_such_database',
        'postgres://nightshift_no_such_role@127.0.0.1:5432/test',
      ]) {
        const error = await failure(Nightshift.connect({ db, logger: createLogger({ level: 'silent' }) }));
        expect(error).toMatchObject({
          code: 'config_error',
          message: expect.stringMatching(/^PostgreSQL refused the connection: .* does not exist$/) as unknown,
        });
      }
    },
  );
});

// Random values of every kind an option might be handed by mistake.
const oddNumber = fc.oneof(
  fc.integer(),
  fc.integer({ min: -10, max: 100 }),
  fc.double(),
  fc.constantFrom(
    Number.NaN,
    Infinity,
    -Infinity,
    -0,
    0.5,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    -(2 ** 31) - 1,
    2 ** 53,
    1e300,
  ),
  fc.bigInt(),
  fc.string({ maxLength: 5 }),
  fc.boolean(),
  fc.constant(null),
);
const oddString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 100, maxLength: 400 }),
  fc.constantFrom('', 'a\u0000b', '\uD800', '\uDC00x', 'é'.repeat(600), 'k'.repeat(10_000)),
  fc.integer(),
  fc.constant(null),
);
const oddDate = fc.oneof(
  fc.date({ noInvalidDate: false }),
  fc.date({ min: new Date('1960-01-01'), max: new Date('2200-01-01') }),
  fc.constantFrom(new Date(-8.64e15), new Date(8.64e15), EARLIEST_DATE, LATEST_DATE, new Date(Number.NaN)),
  fc.constantFrom('2026-01-31T06:00:00Z', 'tomorrow', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z'),
  fc.integer(),
);
/** Mostly values within `valid`, sometimes anything at all: most runs then store a job, many do not. */
function mostly<T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: odd, weight: 1 });
}
const intIn = (min: number, max: number) => mostly(fc.integer({ min, max }), oddNumber);
const name = mostly(fc.string({ minLength: 1, maxLength: 30 }), oddString);
const enqueueOptions = fc.record(
  {
    priority: intIn(INT32_MIN, INT32_MAX),
    maxAttempts: intIn(1, INT32_MAX),
    timeoutMs: intIn(1, MAX_TIMER_MS),
    leaseMs: intIn(1, MAX_TIMER_MS),
    delayMs: mostly(fc.integer({ min: 0, max: 2_000 }), oddNumber),
    runAt: mostly(fc.date({ min: EARLIEST_DATE, max: LATEST_DATE, noInvalidDate: true }), oddDate),
    idempotencyKey: name,
    queue: name,
  },
  { requiredKeys: [] },
) as fc.Arbitrary<EnqueueOptions>;
const payload = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('a\u0000b', '\uD800', { big: 'x'.repeat(100_000) }),
);

/** The documented codes of a refused enqueue. */
const ENQUEUE_CODES = new Set(['invalid_argument', 'invalid_payload', 'unknown_task']);

/** `payload` as JSON gives it back: what a job stores. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null)) as unknown;
}

/** An option as a store gives it back: -0 is the integer 0 in both. */
function storedAs(value: unknown): unknown {
  return Object.is(value, -0) ? 0 : value;
}

/** The fields of a stored job an enqueue with `options` asked for. */
function asked(options: EnqueueOptions, value: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = { task: 't', payload: asJson(value) };
  for (const key of ['priority', 'maxAttempts', 'timeoutMs', 'leaseMs', 'idempotencyKey', 'queue'] as const) {
    if (options[key] !== undefined && options[key] !== null) fields[key] = storedAs(options[key]);
  }
  if (options.runAt !== undefined && options.runAt !== null) fields.runAt = new Date(options.runAt);
  return fields;
}

function isDueNow(options: EnqueueOptions): boolean {
  if (options.runAt !== undefined && options.runAt !== null) {
    return new Date(options.runAt).getTime() <= Date.now();
  }
  return (options.delayMs ?? 0) < 1_000;
}

function expectDocumentedRefusal(error: unknown, codes: Set<string>): void {
  if (!(error instanceof NightshiftError)) throw error;
  expect(codes).toContain(error.code);
}

describe('random values at every entry point', () => {
  it('enqueue and enqueueMany: refused with a documented code and nothing stored, or stored exactly and run', async () => {
    const ns = await env.connect({ tasks });
    const due: string[] = [];
    let stored = 0;
    const check = async (options: EnqueueOptions, value: unknown, id: string, created: boolean) => {
      const job = await ns.getJob(id);
      if (created) {
        expect(job).toMatchObject(asked(options, value));
        // A delay is applied on the database clock: whatever it was, the due time is a date both hold.
        const runAt = job?.runAt.getTime() ?? Number.NaN;
        expect(runAt >= EARLIEST_DATE.getTime() && runAt <= LATEST_DATE.getTime()).toBe(true);
        if (isDueNow(options)) due.push(id);
      } else {
        // A repeated idempotency key: the first job with that key comes back.
        expect(job?.idempotencyKey).toBe(options.idempotencyKey);
      }
    };
    await fc.assert(
      fc.asyncProperty(enqueueOptions, payload, async (options, value) => {
        const result = await ns.enqueue('t', value, options).catch((error: unknown) => error);
        if (result instanceof Error || !('id' in (result as object))) {
          expectDocumentedRefusal(result, ENQUEUE_CODES);
          expect(await jobCount(ns)).toBe(stored);
          return;
        }
        const { id, created } = result as { id: string; created: boolean };
        if (created) stored += 1;
        await check(options, value, id, created);
      }),
      // Besides the random runs, one job surely due now: the run below then always has one to run
      // (the 80 random ones stored none due now in one CI run).
      { numRuns: 60, examples: [[{}, null]] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(enqueueOptions, payload), { minLength: 1, maxLength: 3 }),
        async (items) => {
          const result = await ns
            .enqueueMany(items.map(([options, value]) => ({ task: 't', payload: value, options })))
            .catch((error: unknown) => error);
          if (!Array.isArray(result)) {
            expectDocumentedRefusal(result, ENQUEUE_CODES);
            expect(await jobCount(ns)).toBe(stored);
            return;
          }
          for (const [index, { id, created }] of (
            result as Array<{ id: string; created: boolean }>
          ).entries()) {
            const [options, value] = items[index] as [EnqueueOptions, unknown];
            if (created) stored += 1;
            await check(options, value, id, created);
          }
        },
      ),
      { numRuns: 20 },
    );
    expect(due.length).toBeGreaterThan(0);
    ns.startWorker({
      pollIntervalMs: 20,
      rescueIntervalMs: 0,
      pruneIntervalMs: 0,
      leaseKeeper: 'event-loop',
    });
    for (const id of due) {
      const done = await ns.waitFor(id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ state: 'completed', result: done.payload });
    }
  });

  it('startWorker: refused with invalid_argument, or a worker that starts and stops', async () => {
    const ns = await env.connect({ tasks });
    const workerOptions = fc.record(
      {
        concurrency: intIn(1, 10_000),
        leaseMs: intIn(100, MAX_TIMER_MS),
        pollIntervalMs: intIn(1, MAX_TIMER_MS),
        claimBatchMax: intIn(1, 10_000),
        bufferSize: intIn(0, 10_000),
        timeoutMs: intIn(1, MAX_TIMER_MS),
        abortGraceMs: intIn(0, MAX_TIMER_MS),
        rescueIntervalMs: intIn(0, MAX_TIMER_MS),
        retentionMs: intIn(0, MAX_TIMER_MS),
        queues: mostly(fc.array(name, { minLength: 1, maxLength: 2 }), oddString),
        workerId: name,
      },
      { requiredKeys: [] },
    );
    let started = 0;
    await fc.assert(
      fc.asyncProperty(workerOptions, async (options) => {
        let worker;
        try {
          worker = ns.startWorker({ ...(options as object), leaseKeeper: 'event-loop' });
        } catch (error) {
          expectDocumentedRefusal(error, new Set(['invalid_argument']));
          return;
        }
        started += 1;
        await worker.stop({ force: true, graceMs: 0 });
      }),
      { numRuns: 30 },
    );
    expect(started).toBeGreaterThan(0);
  });

  it('schedules.create: refused with a documented code and nothing stored, or stored as asked', async () => {
    const ns = await env.connect({ tasks });
    const timing = fc.oneof(
      fc.record({ everyMs: intIn(100, 3_155_760_000_000) }),
      fc.record({
        cron: fc.constantFrom('*/5 * * * *', '0 0 6 * * *', 'every day', '61 * * * *', '* * * * * * *'),
      }),
    );
    const scheduleInput = fc.tuple(
      timing,
      fc.record(
        {
          id: mostly(fc.stringMatching(/^[a-z][a-z0-9._:-]{0,30}$/), oddString),
          priority: intIn(INT32_MIN, INT32_MAX),
          jitterMs: intIn(0, INT32_MAX),
          catchUpLimit: intIn(1, INT32_MAX),
          maxDrainRuns: intIn(0, INT32_MAX),
          maxConsecutiveFailures: intIn(1, INT32_MAX),
          queue: name,
          paused: mostly(fc.boolean(), oddString),
        },
        { requiredKeys: [] },
      ),
    );
    const codes = new Set(['invalid_argument', 'conflict']);
    let count = 0;
    let created = 0;
    await fc.assert(
      fc.asyncProperty(scheduleInput, async ([when, input]) => {
        const given = { ...when, ...input, task: 't' } as Parameters<Nightshift['schedules']['create']>[0];
        const result = await ns.schedules.create(given).catch((error: unknown) => error);
        if (result instanceof Error) {
          expectDocumentedRefusal(result, codes);
          expect((await ns.schedules.list({ limit: 1000 })).schedules.length).toBe(count);
          return;
        }
        count += 1;
        created += 1;
        const stored = (await ns.schedules.get(given.id))?.schedule;
        const fields: Record<string, unknown> = { id: given.id, task: 't', paused: given.paused ?? false };
        for (const key of [
          'everyMs',
          'cron',
          'priority',
          'jitterMs',
          'catchUpLimit',
          'maxDrainRuns',
          'maxConsecutiveFailures',
          'queue',
        ] as const) {
          if (given[key] !== undefined) fields[key] = storedAs(given[key]);
        }
        expect(stored).toMatchObject(fields);
      }),
      { numRuns: 60 },
    );
    expect(created).toBeGreaterThan(0);
  });
});
