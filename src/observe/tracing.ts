/**
 * OpenTelemetry spans around enqueue and each attempt, through `@opentelemetry/api` only: without an
 * SDK registered by the application every call below is the API's no-op (a shared non-recording span,
 * no propagator), so tracing costs nothing unless it is switched on.
 *
 * - `nightshift.enqueue` (PRODUCER): one span per enqueue call (`ns.enqueue`, `ns.enqueueMany`,
 *   `ctx.enqueue`), ended when the insert answered.
 * - `nightshift.attempt` (CONSUMER): one span per attempt that ran, a child of the context captured at
 *   enqueue, ended when the attempt's outcome is persisted (or its lease is found lost).
 *
 * The link across processes is the job itself: the enqueue span's context is injected with the
 * registered propagator (W3C `traceparent`/`tracestate` by default in the SDKs) into a small JSON object
 * stored in the job's `trace_context` column; the claim returns it, and the attempt extracts it.
 */
import { readFileSync } from 'node:fs';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { JobError, RunOutcome } from '../job.js';
import type { ClaimedJob, NewJob } from '../store/store.js';

/** The package's version; package.json sits two levels up from both src/observe and dist/observe. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return manifest.version ?? 'unknown';
}

// A proxy: it reaches the SDK's tracer once the application registers a provider, whenever that is.
const tracer = trace.getTracer('nightshift', packageVersion());

/** Span attribute names, namespaced so they cannot collide with the application's own. */
export const SPAN_ATTRIBUTES = {
  jobId: 'nightshift.job.id',
  jobCount: 'nightshift.job.count',
  task: 'nightshift.task',
  queue: 'nightshift.queue',
  attempt: 'nightshift.attempt',
  outcome: 'nightshift.outcome',
} as const;

/**
 * The propagation headers of `ctx` as JSON text, or null when the registered propagator writes nothing
 * (no SDK, or no valid span in `ctx`).
 */
export function captureTraceContext(ctx: Context = context.active()): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return Object.keys(carrier).length === 0 ? null : JSON.stringify(carrier);
}

/**
 * Runs `insert` for `jobs` inside a `nightshift.enqueue` span whose context each job carries in
 * `traceContext`. `parent` is the context the span belongs to: the caller's active one, or an attempt's
 * for a handler's `ctx.enqueue` (a handler in a thread has no active context here).
 */
export async function traceEnqueue<T>(
  jobs: NewJob[],
  insert: () => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const span = tracer.startSpan('nightshift.enqueue', { kind: SpanKind.PRODUCER }, parent);
  if (span.isRecording()) span.setAttributes(enqueueAttributes(jobs));
  const ctx = trace.setSpan(parent, span);
  const traceContext = captureTraceContext(ctx);
  if (traceContext !== null) for (const job of jobs) job.traceContext = traceContext;
  try {
    const result = await context.with(ctx, insert);
    span.end();
    return result;
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
    span.end();
    throw error;
  }
}

function enqueueAttributes(jobs: NewJob[]): Attributes {
  const first = jobs[0];
  const attributes: Attributes = { [SPAN_ATTRIBUTES.jobCount]: jobs.length };
  if (first === undefined) return attributes;
  // Task and queue name the whole call when all its jobs share them; a job id only a single job.
  if (jobs.every((job) => job.task === first.task)) attributes[SPAN_ATTRIBUTES.task] = first.task;
  if (jobs.every((job) => job.queue === first.queue)) attributes[SPAN_ATTRIBUTES.queue] = first.queue;
  if (jobs.length === 1) attributes[SPAN_ATTRIBUTES.jobId] = first.id;
  return attributes;
}

/** Starts the span of a claimed job's attempt, a child of the context stored at its enqueue. */
export function startAttemptSpan(job: ClaimedJob): Span {
  const parent =
    job.traceContext === null
      ? ROOT_CONTEXT
      : propagation.extract(ROOT_CONTEXT, JSON.parse(job.traceContext) as Record<string, string>);
  const span = tracer.startSpan('nightshift.attempt', { kind: SpanKind.CONSUMER }, parent);
  if (span.isRecording()) {
    span.setAttributes({
      [SPAN_ATTRIBUTES.jobId]: job.id,
      [SPAN_ATTRIBUTES.task]: job.task,
      [SPAN_ATTRIBUTES.queue]: job.queue,
      [SPAN_ATTRIBUTES.attempt]: job.attempt,
    });
  }
  return span;
}

/**
 * Calls `run` with `span` as the active span, so what the handler starts (its own spans, `ctx.enqueue`)
 * nests under the attempt. A span without a valid context (no SDK) is skipped: no context is built.
 */
export function runInSpan<T>(span: Span, run: () => T): T {
  if (!trace.isSpanContextValid(span.spanContext())) return run();
  return context.with(trace.setSpan(context.active(), span), run);
}

/** The context of an attempt's span, the parent of the jobs its handler enqueues. */
export function attemptContext(span: Span | null): Context {
  return span === null ? context.active() : trace.setSpan(context.active(), span);
}

/**
 * Ends an attempt span with its outcome (`lease_lapsed` for a lease found lost); failures, timeouts
 * and lost leases get an error status.
 */
export function endAttemptSpan(span: Span | null, outcome: RunOutcome, error?: JobError): void {
  if (span === null) return;
  if (span.isRecording()) {
    span.setAttribute(SPAN_ATTRIBUTES.outcome, outcome);
    if (outcome === 'failed' || outcome === 'timeout' || outcome === 'lease_lapsed') {
      if (error !== undefined) {
        const { name = 'Error', message, stack } = error;
        span.recordException(stack === undefined ? { name, message } : { name, message, stack });
      }
      span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message ?? outcome });
    }
  }
  span.end();
}
