/**
 * `nightshift start --demo`: runs the order-export example of examples/demo on its own SQLite file
 * (`./nightshift-demo.db` unless `--db` says otherwise), watches it to the end and prints a summary.
 * Interrupt it (Ctrl-C, or kill -9) and run it again: the export resumes from its last checkpoint.
 * The dashboard is served on loopback meanwhile, at an address carrying a fresh admin token;
 * `--serve` keeps it up after the demo finished, until Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { DEFAULT_HTTP_HOST } from '../api/listen-defaults.js';
import { issueToken } from '../api/tokens.js';
import { NightshiftError } from '../errors.js';
import { isFinalState, type Job } from '../job.js';
import type { Nightshift } from '../nightshift.js';
import { printJson } from './output.js';
import { runServices, type ServiceFlags } from './run-services.js';
import type { Session } from './session.js';

/** The demo's config module; the same path from src/cli and from the compiled dist/cli. */
export const DEMO_CONFIG = fileURLToPath(
  new URL('../../examples/demo/nightshift.config.ts', import.meta.url),
);

/** Orders in the demo's business day: enough to watch chunks, checkpoints and retries go by. */
const DEMO_ORDERS = 3_000;

/** How often the demo checks whether all its jobs reached a final state. */
const POLL_MS = 250;

/** The name of the token each demo run issues for its dashboard address (and revokes the next run). */
const DEMO_TOKEN_NAME = 'demo';
/** A demo's token outlives the demo by a day at most. */
const DEMO_TOKEN_MS = 24 * 3_600_000;

/** What `start --demo` takes beyond the worker flags. */
export interface DemoFlags extends ServiceFlags {
  /** The dashboard's port; default any free one. */
  port?: number;
  /** Keep serving the dashboard once the demo finished, until a signal. */
  serve?: boolean;
}

/** Runs the demo to completion (or until a signal) and prints its summary. */
export async function runDemo(session: Session, flags: DemoFlags): Promise<void> {
  if (!existsSync(DEMO_CONFIG)) {
    throw new NightshiftError(
      'config_error',
      `the demo ships with the source repository; ${DEMO_CONFIG} is missing`,
    );
  }
  const { config } = await session.requireConfig();
  const ns = await session.connect();
  const logger = session.logger();
  const startedAt = Date.now();

  const exportJob = await startOrResumeExport(ns, logger);
  const secret = await issueDemoToken(ns);
  let dashboard: string | undefined;
  const { serve = false, port = 0, ...serviceFlags } = flags;
  const onListening = (url: string) => {
    dashboard = `${url}/#token=${secret}`;
    // Without --serve the server goes with the demo, a few seconds later: say how to keep it.
    const until = serve
      ? 'it stays up after the demo until Ctrl-C'
      : 'up while the demo runs; --serve keeps it up';
    logger.info(`watch it on the dashboard (${until}): ${dashboard}`);
  };
  const services = { ...serviceFlags, http: { host: DEFAULT_HTTP_HOST, port } };

  const unsubscribe = followProgress(ns, logger);
  const watching = new AbortController();
  const finished = waitUntilSettled(ns, exportJob.id, watching.signal);
  const report = async (): Promise<boolean> => {
    const done = await ns.getJob(exportJob.id);
    if (done === undefined || !isFinalState(done.state) || (await hasPendingJobs(ns))) return false;
    const summary = await summarise(ns, done, Date.now() - startedAt);
    if (session.json) printJson(session.stdout, summary);
    else session.stdout.write(renderSummary(summary, await session.dbUrl(), serve ? dashboard : undefined));
    return true;
  };
  try {
    if (serve) {
      // The summary comes as soon as the demo is done; the dashboard stays up until a signal.
      const reported = finished.then(async () => {
        if (watching.signal.aborted) return;
        if (await report()) logger.info('demo finished; the dashboard stays up until Ctrl-C');
      });
      await runServices(session, config, services, { onListening });
      watching.abort();
      await reported.catch(() => undefined);
      return;
    }
    await runServices(session, config, services, { until: finished, onListening });
  } finally {
    watching.abort();
    unsubscribe();
  }
  if (!(await report())) logger.info('demo interrupted; run it again to carry on where it stopped');
}

/** A fresh admin token for this run's dashboard address; the previous run's is revoked. */
async function issueDemoToken(ns: Nightshift): Promise<string> {
  for (const token of await ns.store.tokenList()) {
    if (token.name === DEMO_TOKEN_NAME && token.revokedAt === null)
      await ns.store.tokenRevoke({ id: token.id });
  }
  const { secret } = await issueToken(ns.store, {
    name: DEMO_TOKEN_NAME,
    role: 'admin',
    expiresInMs: DEMO_TOKEN_MS,
  });
  return secret;
}

async function startOrResumeExport(ns: Nightshift, logger: Logger): Promise<Job> {
  const latest = (await ns.listJobs({ task: 'orders.export', limit: 1 })).jobs[0];
  if (latest !== undefined && (!isFinalState(latest.state) || (await hasPendingJobs(ns)))) {
    logger.info({ jobId: latest.id }, 'an earlier demo run did not finish: carrying on with it');
    return latest;
  }
  const { job } = await ns.enqueue('orders.export', { orders: DEMO_ORDERS });
  logger.info({ jobId: job.id }, `export of ${DEMO_ORDERS} orders enqueued`);
  return job;
}

/** True while any demo job is waiting or running. */
async function hasPendingJobs(ns: Nightshift): Promise<boolean> {
  for (const state of ['queued', 'scheduled', 'running'] as const) {
    if ((await ns.listJobs({ queue: 'demo', state, limit: 1 })).jobs.length > 0) return true;
  }
  return false;
}

/** Logs what the engine leaves at debug level: each retry, and progress every 500 messages. */
function followProgress(ns: Nightshift, logger: Logger): () => void {
  let published = 0;
  const offs = [
    ns.events.on('job:completed', (event) => {
      if (event.task !== 'orders.publish') return;
      published += 1;
      if (published % 500 === 0) logger.info(`${published} order messages published`);
    }),
    ns.events.on('job:retry', (event) => {
      logger.warn(
        `${event.task} attempt ${event.attempt} failed (${event.error.message}); retrying in ${event.retryDelayMs} ms`,
      );
    }),
  ];
  return () => offs.forEach((off) => off());
}

/** Resolves once the export is final and no demo job is waiting or running any more. */
async function waitUntilSettled(ns: Nightshift, exportId: string, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (stop.aborted) return;
    const exportJob = await ns.getJob(exportId);
    if (exportJob !== undefined && isFinalState(exportJob.state) && !(await hasPendingJobs(ns))) return;
  }
}

/** The demo's outcome, also its `--json` output. */
export interface DemoSummary {
  exportJobId: string;
  exportState: string;
  orders: number;
  resumedAtOrder: number | null;
  exportAttempts: number;
  published: number;
  retriedThenPublished: number;
  failed: Array<{ jobId: string; orderId: number; error: string }>;
  elapsedMs: number;
}

async function summarise(ns: Nightshift, exportJob: Job, elapsedMs: number): Promise<DemoSummary> {
  const children: Job[] = [];
  let cursor: string | null = null;
  do {
    const page = await ns.listJobs({
      task: 'orders.publish',
      limit: 1000,
      ...(cursor !== null && { cursor }),
    });
    children.push(...page.jobs.filter((job) => job.parentId === exportJob.id));
    // Newest first: once a page reaches jobs older than the export, earlier demo runs follow. A page
    // that found none before its walk's bound (store.ts JOB_LIST_WALK_MAX) goes on from its cursor.
    const oldest = page.jobs.at(-1);
    cursor = oldest === undefined || oldest.createdAt >= exportJob.createdAt ? page.nextCursor : null;
  } while (cursor !== null);

  const result = exportJob.result as { orders?: number; resumedAt?: number | null } | null;
  const completed = children.filter((job) => job.state === 'completed');
  return {
    exportJobId: exportJob.id,
    exportState: exportJob.state,
    orders: result?.orders ?? 0,
    resumedAtOrder:
      result?.resumedAt === null || result?.resumedAt === undefined ? null : result.resumedAt + 1,
    exportAttempts: exportJob.attempt,
    published: completed.length,
    retriedThenPublished: completed.filter((job) => job.attempt > 1).length,
    failed: children
      .filter((job) => job.state === 'failed')
      .map((job) => ({
        jobId: job.id,
        orderId: (job.payload as { id: number }).id,
        error: job.error?.message ?? '',
      }))
      .sort((a, b) => a.orderId - b.orderId),
    elapsedMs,
  };
}

/**
 * The summary as people read it. Its closing hint names the CLI as `npx nightshift`: the demo runs from
 * a clone, where the binary is the package's own and not on the PATH.
 */
export function renderSummary(summary: DemoSummary, dbUrl: string, dashboard?: string): string {
  const lines = [
    '',
    `demo finished in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
    `  export            ${summary.exportState} after ${summary.exportAttempts} attempt(s)` +
      (summary.resumedAtOrder === null
        ? ''
        : `, resumed from its checkpoint at order ${summary.resumedAtOrder}`),
    `  orders exported   ${summary.orders}`,
    `  messages sent     ${summary.published} (one job per order, keyed order-<id>: a re-run never sends one twice)`,
    `  retried, then ok  ${summary.retriedThenPublished}`,
    `  failed for good   ${summary.failed.length}`,
    ...summary.failed.map((f) => `    order ${f.orderId}: ${f.error} (job ${f.jobId})`),
    '',
    `look closer:  npx nightshift jobs list --db ${dbUrl} --state failed`,
  ];
  const first = summary.failed[0];
  if (first !== undefined) lines.push(`              npx nightshift jobs show ${first.jobId} --db ${dbUrl}`);
  if (dashboard !== undefined) lines.push(`or open:      ${dashboard}`);
  return lines.join('\n') + '\n';
}
