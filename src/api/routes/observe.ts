/**
 * What an operator watches: `GET /api/v1/alerts` (the current alerts), `GET /api/v1/stats` (attempts
 * per minute for the dashboard's charts) and, outside /api/v1, `GET /metrics` (Prometheus text).
 * All are reads for the viewer role; everything comes from the library (the alerts of `ns.alerts()`,
 * `ns.metrics()`) or the store's observe reads, never SQL here.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NightshiftError } from '../../errors.js';
import type { Nightshift } from '../../nightshift.js';
import { ALERT_KINDS } from '../../observe/alert.js';
import { computeAlerts } from '../../observe/alerts.js';
import type { RunStatsMinute } from '../../store/store.js';
import { ErrorBody, responses } from '../schemas.js';

const MINUTE_MS = 60_000;
/** The longest chart window: a day of one-minute buckets. */
export const MAX_STATS_MINUTES = 1440;

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
  { description: 'nearest-rank percentiles in ms; null in a minute without attempts' },
);
const BucketSchema = Type.Object(
  {
    at: Type.String({ format: 'date-time', description: 'start of the minute' }),
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
        summary: 'Attempts ended per minute, with wait and run percentiles',
        description: `One bucket per minute, oldest first, the current minute last; minutes 1..${MAX_STATS_MINUTES}.`,
        tags: ['observe'],
        // Digits, checked as text: the query converter would turn 1.5 into 1 for an integer schema.
        querystring: Type.Object(
          {
            minutes: Type.Optional(
              Type.String({ pattern: '^[0-9]{1,4}$', description: `1..${MAX_STATS_MINUTES}, default 60` }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ buckets: Type.Array(BucketSchema) }) }),
      },
    },
    async (request) => {
      const minutes = Number(request.query.minutes ?? 60);
      if (minutes < 1 || minutes > MAX_STATS_MINUTES) {
        throw new NightshiftError(
          'invalid_argument',
          `minutes must be an integer from 1 to ${MAX_STATS_MINUTES}, got ${minutes}`,
        );
      }
      const now = await ns.store.now();
      const found = await ns.store.jobRunStats({ minutes });
      return { buckets: fillMinutes(found, minutes, now) };
    },
  );
  done();
};

/** Registers /metrics (at the root, beside /healthz). */
export const metricsRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        description: 'docs/METRICS.md lists every metric. Needs a viewer token like /api/v1.',
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

/** One bucket per minute of the window ending at the current minute, zeros where nothing ended. */
function fillMinutes(found: RunStatsMinute[], minutes: number, now: Date) {
  const byMinute = new Map(found.map((row) => [row.at.getTime(), row]));
  // The store read its own clock after `now`: should the minute have turned in between, end there.
  const last = Math.max(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS, ...byMinute.keys());
  const empty = { p50: null, p95: null, p99: null };
  return Array.from({ length: minutes }, (_, i) => {
    const at = last - (minutes - 1 - i) * MINUTE_MS;
    const row = byMinute.get(at);
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
