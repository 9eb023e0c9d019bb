/**
 * What an operator watches: `GET /api/v1/alerts` (the current alerts), `GET /api/v1/stats` (attempts
 * per bucket of time for the dashboard's charts), reads for the viewer role, and, outside /api/v1,
 * `GET /metrics` (Prometheus text), which needs no token: the public contract puts it beside /healthz and
 * /readyz, and a scrape costs one shared reading of the database however many arrive at once
 * (`observe/metrics.ts`). Everything comes from the library (the alerts of `ns.alerts()`, `ns.metrics()`)
 * or the store's observe reads, never SQL here.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NightshiftError } from '../../errors.js';
import type { Nightshift } from '../../nightshift.js';
import { ALERT_KINDS } from '../../observe/alert.js';
import { computeAlerts } from '../../observe/alerts.js';
import type { RunStatsBucket } from '../../store/store.js';
import { ErrorBody, responses } from '../schemas.js';

/** The longest chart window: a day. */
export const MAX_STATS_MINUTES = 1440;
/** The most buckets one answer holds: a day of minutes, or 24 minutes of seconds. */
export const MAX_STATS_BUCKETS = 1440;
/**
 * The longest bucket, an hour. A bucket's size must divide it, so buckets fall on whole minutes and
 * hours of the clock and a chart's times read round (10:05:30, never 10:05:17).
 */
const MAX_BUCKET_SECONDS = 3600;

const AlertSchema = Type.Object(
  {
    kind: Type.Enum([...ALERT_KINDS]),
    subject: Type.String({ description: 'what it is about: job:<id>, schedule:<id> or queue:<name>' }),
    message: Type.String(),
    since: Type.String({ format: 'date-time', description: 'when the condition began' }),
    jobId: Type.Optional(Type.String()),
    scheduleId: Type.Optional(Type.String()),
    queue: Type.Optional(Type.String()),
  },
  { title: 'Alert' },
);

const ms = Type.Union([Type.Number(), Type.Null()]);
const PercentilesSchema = Type.Object(
  { p50: ms, p95: ms, p99: ms },
  { description: 'nearest-rank percentiles in ms; null in a bucket without attempts' },
);
const BucketSchema = Type.Object(
  {
    at: Type.String({ format: 'date-time', description: 'start of the bucket' }),
    completed: Type.Integer(),
    failed: Type.Integer({ description: 'attempts that left their job failed' }),
    retried: Type.Integer({ description: 'failed, timed-out or lapsed attempts followed by another' }),
    waitMs: PercentilesSchema,
    runMs: PercentilesSchema,
  },
  { title: 'StatsBucket' },
);

/** Registers /alerts and /stats (under /api/v1). */
export const observeRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/alerts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The alerts that hold now, computed from the database',
        tags: ['observe'],
        response: responses({
          200: Type.Object({
            alerts: Type.Array(AlertSchema),
            nextChangeInMs: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
              description:
                'How long until an alert begins, ends or changes by the passing of time alone (a running job past its maxDurationMs, a lease past its grace, a missed slot leaving the window, a queue’s next job coming due or its oldest ready job passing its age threshold), database clock; null when none would. No event marks that moment: a reader showing the alerts reads them again after this long.',
            }),
          }),
        }),
      },
    },
    // ns.alerts() without its companion: when the alerts would change, which only a reader that reads
    // them again needs.
    () => computeAlerts({ store: ns.store, registry: ns.tasks, config: ns.alertsConfig }),
  );

  app.get(
    '/stats',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Attempts ended per bucket of time, with wait and run percentiles',
        description: `The last \`minutes\` (1..${MAX_STATS_MINUTES}, default 60) in buckets of \`bucketSeconds\` (default 60; a divisor of ${MAX_BUCKET_SECONDS}, so buckets start on whole minutes and hours), at most ${MAX_STATS_BUCKETS} buckets; the window must be a whole number of buckets. Oldest first, the current (partial) bucket last.`,
        tags: ['observe'],
        // Digits, checked as text: the query converter would turn 1.5 into 1 for an integer schema.
        querystring: Type.Object(
          {
            minutes: Type.Optional(
              Type.String({ pattern: '^[0-9]{1,4}$', description: `1..${MAX_STATS_MINUTES}, default 60` }),
            ),
            bucketSeconds: Type.Optional(
              Type.String({
                pattern: '^[0-9]{1,4}$',
                description: `seconds per bucket, a divisor of ${MAX_BUCKET_SECONDS} (1, 5, 10, 15, 30, 60, 300, 1200, ...), default 60`,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({
            bucketSeconds: Type.Integer({ description: 'the size of each bucket' }),
            buckets: Type.Array(BucketSchema),
          }),
        }),
      },
    },
    async (request) => {
      const { minutes, bucketSeconds } = statsWindow(request.query);
      const bucketMs = bucketSeconds * 1_000;
      const buckets = (minutes * 60) / bucketSeconds;
      const now = await ns.store.now();
      const found = await ns.store.jobRunStats({ buckets, bucketMs });
      return { bucketSeconds, buckets: fillBuckets(found, buckets, bucketMs, now) };
    },
  );
  done();
};

/** Registers /metrics (at the root, beside /healthz). */
export const metricsRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/metrics',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        description: 'docs/METRICS.md lists every metric. Needs no token, like /healthz and /readyz.',
        tags: ['observe'],
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          '4xx': { description: 'an error', content: { 'application/json': { schema: ErrorBody } } },
          '5xx': { description: 'an error', content: { 'application/json': { schema: ErrorBody } } },
        },
      },
    },
    async (_request, reply) => {
      const registry = await ns.metrics();
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
  done();
};

/** The window and bucket size of a stats query, or `invalid_argument` saying what is wrong. */
function statsWindow(query: { minutes?: string; bucketSeconds?: string }): {
  minutes: number;
  bucketSeconds: number;
} {
  const minutes = Number(query.minutes ?? 60);
  const bucketSeconds = Number(query.bucketSeconds ?? 60);
  const refuse = (message: string) => new NightshiftError('invalid_argument', message);
  if (minutes < 1 || minutes > MAX_STATS_MINUTES) {
    throw refuse(`minutes must be an integer from 1 to ${MAX_STATS_MINUTES}, got ${minutes}`);
  }
  if (bucketSeconds < 1 || bucketSeconds > MAX_BUCKET_SECONDS || MAX_BUCKET_SECONDS % bucketSeconds !== 0) {
    throw refuse(
      `bucketSeconds must divide ${MAX_BUCKET_SECONDS} (1, 5, 10, 15, 30, 60, ...), got ${bucketSeconds}`,
    );
  }
  if ((minutes * 60) % bucketSeconds !== 0) {
    throw refuse(`${minutes} minutes is not a whole number of ${bucketSeconds} s buckets`);
  }
  if ((minutes * 60) / bucketSeconds > MAX_STATS_BUCKETS) {
    throw refuse(
      `${minutes} minutes of ${bucketSeconds} s buckets is ${(minutes * 60) / bucketSeconds} buckets, more than ${MAX_STATS_BUCKETS}`,
    );
  }
  return { minutes, bucketSeconds };
}

/** Every bucket of the window ending at the current bucket, zeros where nothing ended. */
function fillBuckets(found: RunStatsBucket[], buckets: number, bucketMs: number, now: Date) {
  const byStart = new Map(found.map((row) => [row.at.getTime(), row]));
  // The store read its own clock after `now`: should the bucket have turned in between, end there.
  const last = Math.max(Math.floor(now.getTime() / bucketMs) * bucketMs, ...byStart.keys());
  const empty = { p50: null, p95: null, p99: null };
  return Array.from({ length: buckets }, (_, i) => {
    const at = last - (buckets - 1 - i) * bucketMs;
    const row = byStart.get(at);
    return {
      at: new Date(at).toISOString(),
      completed: row?.completed ?? 0,
      failed: row?.failed ?? 0,
      retried: row?.retried ?? 0,
      waitMs: row?.waitMs ?? empty,
      runMs: row?.runMs ?? empty,
    };
  });
}
