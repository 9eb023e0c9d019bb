/**
 * OpenTelemetry spans (src/observe/tracing.ts) with a real SDK: an in-memory exporter behind a
 * BasicTracerProvider, the AsyncLocalStorage context manager and the W3C propagator, registered
 * globally the way an application's SDK setup does. The first test runs before any of that is
 * registered: without an SDK nothing is stored and everything works.
 *
 * The trace crosses from producer to worker through the database only: the worker claims in a context
 * where the producer's span is not active, so the attempt span can find its parent nowhere but in the
 * job's stored trace context. Backend: see engine-harness.ts (NIGHTSHIFT_TEST_BACKEND=postgres).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { openStore } from '../../src/store/open.js';
import { startChild } from '../support/child-process.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKEND, engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();
const exporter = new InMemorySpanExporter();

function registerSdk(): void {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);

function attemptSpanOf(jobId: string): Promise<ReadableSpan> {
  return waitUntil(
    () => spans('nightshift.attempt').find((s) => s.attributes['nightshift.job.id'] === jobId),
    { message: `attempt span of ${jobId}` },
  );
}

/** Claims the job with a second store, as another process's worker would, and returns its trace context. */
async function claimedTraceContext(ns: Awaited<ReturnType<typeof env.connect>>): Promise<string | null> {
  const peer = await env.peerStore(ns);
  const [claimed] = await peer.jobClaim({ workerId: 'peer', limit: 1, leaseMs: 30_000 });
  if (!claimed) throw new Error('nothing to claim');
  return claimed.traceContext;
}

describe('tracing without an SDK', () => {
  it('stores no trace context and runs jobs as usual', async () => {
    const ns = await env.connect({ tasks: { plain: () => 'ok' } });
    const tracer = trace.getTracer('test');
    // A span started with the no-op API is not valid: there is nothing to propagate.
    await tracer.startActiveSpan('request', async (span) => {
      await ns.enqueue('plain', null);
      span.end();
    });
    expect(await claimedTraceContext(ns)).toBeNull();
    const { id } = await ns.enqueue('plain', null);
    ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ state: 'completed', result: 'ok' });
  });
});

describe('tracing with an SDK', () => {
  beforeAll(registerSdk);
  beforeEach(() => exporter.reset());

  it('stores the enqueue span as W3C trace context with the job', async () => {
    const ns = await env.connect({ tasks: { plain: () => 'ok' } });
    const tracer = trace.getTracer('test');
    const { id } = await tracer.startActiveSpan('request', async (request) => {
      const result = await ns.enqueue('plain', { a: 1 }, { queue: 'mail' });
      request.end();
      return result;
    });
    const [enqueue] = spans('nightshift.enqueue');
    const [request] = spans('request');
    expect(enqueue).toBeDefined();
    expect(enqueue!.kind).toBe(SpanKind.PRODUCER);
    expect(enqueue!.instrumentationScope.name).toBe('nightshift');
    expect(enqueue!.instrumentationScope.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(enqueue!.attributes).toEqual({
      'nightshift.job.count': 1,
      'nightshift.task': 'plain',
      'nightshift.queue': 'mail',
      'nightshift.job.id': id,
    });
    expect(enqueue!.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
    const { traceId, spanId } = enqueue!.spanContext();
    expect(JSON.parse((await claimedTraceContext(ns)) ?? 'null')).toEqual({
      traceparent: `00-${traceId}-${spanId}-01`,
    });
  });

  it('makes each attempt a child of its enqueue, found through the job, and ctx.enqueue children of the attempt', async () => {
    const ns = await env.connect({
      tasks: {
        parent: async (_payload: unknown, ctx) => {
          await ctx.enqueue('child', null, { key: 'only' });
          return 'parent done';
        },
        child: () => 'child done',
      },
    });
    const tracer = trace.getTracer('test');
    const { id } = await tracer.startActiveSpan('request', async (request) => {
      const result = await ns.enqueue('parent', null);
      request.end();
      return result;
    });
    // The worker (its claim loop and every attempt) starts where no span is active.
    context.with(ROOT_CONTEXT, () => ns.startWorker(FAST_WORKER));
    const attempt = await attemptSpanOf(id);
    const [producer] = spans('nightshift.enqueue');
    expect(attempt.kind).toBe(SpanKind.CONSUMER);
    expect(attempt.spanContext().traceId).toBe(producer!.spanContext().traceId);
    expect(attempt.parentSpanContext?.spanId).toBe(producer!.spanContext().spanId);
    expect(attempt.attributes).toEqual({
      'nightshift.job.id': id,
      'nightshift.task': 'parent',
      'nightshift.queue': 'default',
      'nightshift.attempt': 1,
      'nightshift.outcome': 'completed',
    });
    expect(attempt.status.code).toBe(SpanStatusCode.UNSET);

    const childEnqueue = await waitUntil(() =>
      spans('nightshift.enqueue').find((s) => s.attributes['nightshift.task'] === 'child'),
    );
    expect(childEnqueue.parentSpanContext?.spanId).toBe(attempt.spanContext().spanId);
    const childJobId = childEnqueue.attributes['nightshift.job.id'] as string;
    const childAttempt = await attemptSpanOf(childJobId);
    expect(childAttempt.parentSpanContext?.spanId).toBe(childEnqueue.spanContext().spanId);
    expect(childAttempt.spanContext().traceId).toBe(producer!.spanContext().traceId);
  });

  it('gives a failed attempt an error status and records its error', async () => {
    const ns = await env.connect({
      tasks: {
        broken: {
          maxAttempts: 1,
          handler: () => {
            throw new Error('disk full');
          },
        },
      },
    });
    const { id } = await ns.enqueue('broken', null);
    ns.startWorker(FAST_WORKER);
    const attempt = await attemptSpanOf(id);
    expect(attempt.attributes['nightshift.outcome']).toBe('failed');
    expect(attempt.status).toEqual({ code: SpanStatusCode.ERROR, message: 'disk full' });
    expect(attempt.events.map((e) => e.name)).toEqual(['exception']);
    // No span was active at enqueue: the enqueue span is a root, and the attempt joins its trace.
    const [producer] = spans('nightshift.enqueue');
    expect(producer!.parentSpanContext).toBeUndefined();
    expect(attempt.spanContext().traceId).toBe(producer!.spanContext().traceId);
  });

  it('traces enqueueMany as one span with the job count', async () => {
    const ns = await env.connect({ tasks: { a: () => 1, b: () => 2 } });
    await ns.enqueueMany([
      { task: 'a', payload: null },
      { task: 'b', payload: null },
      { task: 'a', payload: null },
    ]);
    const enqueues = spans('nightshift.enqueue');
    expect(enqueues).toHaveLength(1);
    expect(enqueues[0]!.attributes).toEqual({ 'nightshift.job.count': 3, 'nightshift.queue': 'default' });
  });

  it('continues the trace in a worker in another process, through the job alone', async () => {
    const file = BACKEND === 'sqlite' ? tempSqliteFile() : null;
    const schema = BACKEND === 'postgres' ? uniqueSchema('tracing_xp') : null;
    const url = file ? `sqlite:${file.path}` : TEST_PG_URL;
    const store = await openStore(url, schema === null ? {} : { schema });
    const ns = await Nightshift.connect({
      db: store,
      logger: createLogger({ level: 'silent' }),
      tasks: { remote: () => 'ran here' },
    });
    try {
      const { id } = await trace.getTracer('test').startActiveSpan('request', async (request) => {
        const result = await ns.enqueue('remote', null);
        request.end();
        return result;
      });
      const [producer] = spans('nightshift.enqueue');
      const child = startChild(new URL('./fixtures/traced-worker.ts', import.meta.url), [
        url,
        schema ?? '-',
        id,
      ]);
      const lines = await child.done;
      expect(JSON.parse(lines.at(-1) ?? 'null')).toEqual({
        traceId: producer!.spanContext().traceId,
        parentSpanId: producer!.spanContext().spanId,
        attributes: {
          'nightshift.job.id': id,
          'nightshift.task': 'remote',
          'nightshift.queue': 'default',
          'nightshift.attempt': 1,
          'nightshift.outcome': 'completed',
        },
      });
      expect(await ns.getJob(id)).toMatchObject({ state: 'completed', result: 'ran elsewhere' });
    } finally {
      await ns.close();
      await store.close();
      file?.remove();
      if (schema !== null) await dropSchema(schema);
    }
  }, 60_000);
});
