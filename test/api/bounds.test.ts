/**
 * REST takes the values the library takes, on both backends: every bounded number and string of an
 * enqueue, a schedule and a token, at the edges of its range and just past them, over REST and
 * through the library, with the same outcome. REST refused `everyMs: 100` and `delayMs: 1.5`, which
 * the library and the README take, and its own copies of the bounds had drifted from the library's.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_LIMIT } from '../../src/api/listen-defaults.js';
import { issueToken, TOKEN_EXPIRY_RANGE } from '../../src/api/tokens.js';
import { NightshiftError } from '../../src/errors.js';
import { MAX_CRON_LENGTH, MAX_TIMEZONE_LENGTH, SCHEDULE_RANGES } from '../../src/scheduler/validate.js';
import { JOB_RANGES, MAX_KEY_BYTES, MAX_NAME_BYTES, type Range } from '../../src/validation/bounds.js';
import { expectCode } from '../support/expect-code.js';
import { BACKENDS, startTestServer, type TestResponse, type TestServer } from './api-server.js';

/** Each edge of `range`, one past each, and a fraction (refused where only integers are taken). */
function edges([min, max]: Range): number[] {
  return [min, max, min - 1, max + 1, min + 0.5];
}

/** Strings at and past a bound of `bytes` UTF-8 bytes, ASCII and two bytes a character. */
function lengths(bytes: number): string[] {
  return ['a'.repeat(bytes), 'a'.repeat(bytes + 1), 'é'.repeat(Math.floor(bytes / 2) + 1)];
}

/** What became of a request: stored, or the error code it was refused with. */
function restOutcome(response: TestResponse): string {
  return response.status === 201 ? 'stored' : `${response.status} ${response.body.error.code}`;
}

async function libraryOutcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'stored';
  } catch (error) {
    if (error instanceof NightshiftError && error.code === 'invalid_argument') return '400 invalid_argument';
    throw error;
  }
}

describe.each(BACKENDS)('REST bounds against the library on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s.close());

  it('enqueues with every bounded option where the library does, and refuses the rest storing nothing', async () => {
    const cases: Array<[string, unknown, Record<string, unknown>?]> = [
      ...(['priority', 'maxAttempts', 'timeoutMs', 'leaseMs', 'delayMs'] as const).flatMap((option) =>
        edges(JOB_RANGES[option]).map((value): [string, unknown] => [option, value]),
      ),
      ...edges(JOB_RANGES.concurrencyLimit).map((value): [string, unknown, Record<string, unknown>] => [
        'concurrencyLimit',
        value,
        { concurrencyKey: 'bounded' },
      ]),
      ...lengths(MAX_NAME_BYTES).map((value): [string, unknown] => ['queue', value]),
      ...(['idempotencyKey', 'concurrencyKey', 'group'] as const).flatMap((option) =>
        lengths(MAX_KEY_BYTES).map((value): [string, unknown] => [option, value]),
      ),
    ];
    for (const [i, [option, value, extra]] of cases.entries()) {
      // Each request its own key (a repeated key would return the first job), unless it is the option.
      const options = (key: string) => ({ idempotencyKey: key, ...extra, [option]: value });
      const before = (await s.ns.listJobs({ limit: 1_000 })).jobs.length;
      const rest = restOutcome(
        await s.request('POST', '/api/v1/jobs', {
          token: s.tokens.operator,
          body: { task: 'noop', ...options(`rest-${i}`) },
        }),
      );
      const stored = (await s.ns.listJobs({ limit: 1_000 })).jobs.length - before;
      const library = await libraryOutcome(() => s.ns.enqueue('noop', undefined, options(`library-${i}`)));
      const shown = typeof value === 'string' ? `${value.length} × ${value[0] ?? ''}` : value;
      expect({ option, value: shown, rest, stored }).toEqual({
        option,
        value: shown,
        rest: library,
        stored: library === 'stored' ? 1 : 0,
      });
    }
  });

  it('creates a schedule with every bounded field where the library does, and refuses the rest', async () => {
    let n = 0;
    for (const field of Object.keys(SCHEDULE_RANGES) as Array<keyof typeof SCHEDULE_RANGES>) {
      for (const value of edges(SCHEDULE_RANGES[field])) {
        n += 1;
        const input = { task: 'noop', everyMs: 60_000, [field]: value };
        const rest = restOutcome(
          await s.request('POST', '/api/v1/schedules', { body: { id: `rest-${n}`, ...input } }),
        );
        const library = await libraryOutcome(() => s.ns.schedules.create({ id: `library-${n}`, ...input }));
        const stored = (await s.ns.schedules.get(`rest-${n}`)) !== undefined;
        expect({ field, value, rest, stored }).toEqual({
          field,
          value,
          rest: library,
          stored: library === 'stored',
        });
      }
    }
  });

  it('refuses a queue name that is blank or starts or ends with whitespace, as the library does', async () => {
    for (const name of [' ', ' mail', 'mail\t']) {
      const path = encodeURIComponent(name);
      const responses = [
        await s.request('POST', '/api/v1/jobs', { body: { task: 'noop', queue: name } }),
        await s.request('POST', '/api/v1/schedules', {
          body: { id: 'padded', task: 'noop', everyMs: 60_000, queue: name },
        }),
        await s.request('PUT', `/api/v1/limits/queues/${path}`, { body: { limit: 2 } }),
        await s.request('PUT', `/api/v1/limits/queues/${path}/rate`, {
          body: { rate: { limit: 1, periodMs: 1_000 } },
        }),
        await s.request('POST', `/api/v1/queues/${path}/pause`),
      ];
      const refusal = `must not be blank or start or end with whitespace, got ${JSON.stringify(name)}`;
      for (const response of responses) {
        expect(response.status).toBe(400);
        expect(response.body.error.message as string).toContain(refusal);
      }
    }
    const queues = (await s.ns.queues.list()).map((queue) => queue.name);
    expect(queues.filter((queue) => queue.trim() !== queue)).toEqual([]);
    expect(await s.ns.schedules.get('padded')).toBeUndefined();
    expect(await s.ns.queueLimits()).toEqual([]);
  });

  it('takes a cron and a time zone up to their lengths, over REST and in the library alike', async () => {
    // Spaces around a cron are trimmed, so the longest takes the same slots as the bare expression.
    const cron = (length: number) => '0 6 * * *'.padEnd(length, ' ');
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['cron', { cron: cron(MAX_CRON_LENGTH) }, 'stored'],
      ['cron', { cron: cron(MAX_CRON_LENGTH + 1) }, '400 invalid_argument'],
      ['timezone', { cron: '0 6 * * *', timezone: 'Europe/London' }, 'stored'],
      [
        'timezone',
        { cron: '0 6 * * *', timezone: 'E'.repeat(MAX_TIMEZONE_LENGTH + 1) },
        '400 invalid_argument',
      ],
    ];
    for (const [n, [field, fields, expected]] of cases.entries()) {
      const input = { task: 'noop', ...fields };
      const rest = restOutcome(
        await s.request('POST', '/api/v1/schedules', { body: { id: `text-rest-${n}`, ...input } }),
      );
      const library = await libraryOutcome(() =>
        s.ns.schedules.create({ id: `text-library-${n}`, ...input }),
      );
      expect({ field, n, rest, library }).toEqual({ field, n, rest: expected, library: expected });
    }
    await expectCode(
      s.ns.schedules.create({ id: 'long-cron', task: 'noop', cron: cron(MAX_CRON_LENGTH + 1) }),
      'invalid_argument',
      /^schedule "long-cron": cron must be at most 200 characters, got 201$/,
    );
    await expectCode(
      s.ns.schedules.create({ id: 'long-zone', task: 'noop', cron: '0 6 * * *', timezone: 'E'.repeat(101) }),
      'invalid_argument',
      /^schedule "long-zone": timezone must be at most 100 characters, got 101$/,
    );
  });

  it('creates a token expiring in up to 100 years, over REST and in the library alike', async () => {
    const [min, max] = TOKEN_EXPIRY_RANGE;
    for (const expiresInMs of [min, max, min - 1, max + 1, min + 0.5]) {
      const name = `bounded-${expiresInMs}`;
      const rest = restOutcome(
        await s.request('POST', '/api/v1/tokens', { body: { name, role: 'viewer', expiresInMs } }),
      );
      const library = await libraryOutcome(() =>
        issueToken(s.store, { name: `library-${expiresInMs}`, role: 'viewer', expiresInMs }),
      );
      const stored = (await s.store.tokenList()).some((t) => t.name === name);
      expect({ expiresInMs, rest, stored }).toEqual({
        expiresInMs,
        rest: library,
        stored: library === 'stored',
      });
    }
  });

  it('refuses a body over the body limit with 413 naming the limit and the option that sets it', async () => {
    const queue = 'over-the-body-limit';
    const body = { task: 'noop', queue, payload: 'x'.repeat(DEFAULT_BODY_LIMIT) };
    const response = await s.request('POST', '/api/v1/jobs', { token: s.tokens.operator, body });
    expect(response.status).toBe(413);
    expect(response.body.error).toEqual({
      code: 'payload_too_large',
      message:
        'the body is larger than this server accepts: at most 2097152 bytes (2 MiB): send a smaller one (a bulk enqueue: fewer jobs per request)',
    });
    expect((await s.ns.listJobs({ queue })).jobs).toEqual([]);
  });
});
