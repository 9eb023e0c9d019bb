/**
 * Failover to a synchronous streaming standby, in process: a primary and its standby of our own
 * (initdb, pg_basebackup -R, synchronous_standby_names = '*'), a worker, a scheduler and an enqueuer
 * reaching them through a TCP proxy that can be re-pointed (blackhole-proxy.ts). Mid-run the primary is killed with SIGKILL, the
 * standby promoted and the proxy pointed at it; nothing restarts. Afterwards: every acknowledged
 * enqueue is on the new primary and completed, no handler's side effect (a line in a file, outside
 * both databases) happened twice, no schedule slot has two jobs. Prints the time from the primary's
 * death to the first job completed on the promoted standby.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import {
  ownPostgresUnavailable,
  startOwnPostgres,
  startStandby,
  type OwnPostgres,
} from '../support/own-postgres.js';
import { waitUntil } from '../support/wait-until.js';
import { startBlackholeProxy, type BlackholeProxy } from './blackhole-proxy.js';

const unavailable = ownPostgresUnavailable();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(unavailable !== null)('failover to a promoted synchronous standby', () => {
  let primary: OwnPostgres;
  let standby: OwnPostgres;
  let proxy: BlackholeProxy;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-failover-'));
    primary = await startOwnPostgres({
      // Every commit waits for the standby to have flushed it: what the primary acknowledged survives
      // the primary's death.
      settings: ['synchronous_commit = on', "synchronous_standby_names = '*'"],
    });
    // Inherits the primary's file; once promoted it must not wait for a standby of its own.
    standby = await startStandby(primary, { settings: ["synchronous_standby_names = ''"] });
    await waitUntil(
      async () => {
        const rows = await primary.query<{ sync_state: string }>(
          'SELECT sync_state FROM pg_stat_replication',
        );
        return rows[0]?.sync_state === 'sync' ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    proxy = await startBlackholeProxy({ host: '127.0.0.1', port: primary.port });
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await standby?.remove();
    await primary?.remove();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('loses no acknowledged enqueue, completes no job twice, fires no slot twice, without a restart', async () => {
    const effects = join(dir, 'effects.log');
    writeFileSync(effects, '');
    const url = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;
    const store = await PostgresStore.open({ connectionString: url, poolSize: 6 });
    const ns = await Nightshift.connect({
      db: store,
      logger: createLogger({ level: process.env['NIGHTSHIFT_TEST_LOG'] ?? 'silent' }),
      tasks: {
        work: (_p: { n: number }, ctx) => {
          appendFileSync(effects, `${ctx.job.id}\n`);
        },
        tick: (_p: unknown, ctx) => {
          appendFileSync(effects, `${ctx.job.id}\n`);
        },
      },
    });
    // From the moment the primary is confirmed dead, anything that commits commits on the standby.
    let diedAt = Number.POSITIVE_INFINITY;
    let firstCompletion: number | undefined;
    let firstEnqueue: number | undefined;
    ns.events.on('job:completed', () => {
      const now = performance.now();
      if (now > diedAt && firstCompletion === undefined) firstCompletion = now - diedAt;
    });
    const acknowledged: string[] = [];
    let refused = 0;
    let enqueuing = true;
    const enqueuer = (async () => {
      for (let n = 0; enqueuing; n += 1) {
        try {
          acknowledged.push((await ns.enqueue('work', { n })).id);
          const now = performance.now();
          if (now > diedAt && firstEnqueue === undefined) firstEnqueue = now - diedAt;
          await sleep(5);
        } catch {
          refused += 1;
          await sleep(50);
        }
      }
    })();
    try {
      await ns.schedules.create({ id: 'tick', task: 'tick', everyMs: 250, overlap: 'allow' });
      ns.startScheduler({ pollIntervalMs: 100 });
      ns.startWorker({ pollIntervalMs: 50, concurrency: 4, leaseMs: 5_000, rescueIntervalMs: 500 });
      await sleep(2_000);
      const beforeDeath = acknowledged.length;

      await primary.kill();
      diedAt = performance.now();
      await standby.promote();
      proxy.switchTo({ host: '127.0.0.1', port: standby.port });
      const promotedAfterMs = performance.now() - diedAt;

      const switchedAt = new Date();
      await waitUntil(() => acknowledged.length > beforeDeath + 50, { timeoutMs: 30_000 });
      enqueuing = false;
      await enqueuer;

      const missing = await standby.query(
        `SELECT a.id FROM unnest($1::uuid[]) a(id) LEFT JOIN nightshift.jobs j ON j.id = a.id WHERE j.id IS NULL`,
        [acknowledged],
      );
      expect(missing).toEqual([]);
      await waitUntil(
        async () => {
          const rows = await standby.query<{ n: string }>(
            `SELECT count(*) AS n FROM nightshift.jobs WHERE id = ANY($1::uuid[]) AND state = 'completed'`,
            [acknowledged],
          );
          return Number(rows[0]?.n) === acknowledged.length;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'acknowledged jobs not all completed' },
      );
      // The scheduler recovered in process: a slot after the switch fired and ran on the new primary
      // (its backoff after the outage may still be running when the enqueued jobs are all done).
      await waitUntil(
        async () => {
          const rows = await standby.query<{ n: string }>(
            `SELECT count(*) AS n FROM nightshift.jobs WHERE schedule_id = 'tick' AND state = 'completed'
             AND created_at > $1`,
            [switchedAt],
          );
          return Number(rows[0]?.n) > 0;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'no schedule slot fired after the switch' },
      );
      const twice = await standby.query(
        `SELECT schedule_slot, count(*) FROM nightshift.jobs WHERE schedule_id = 'tick'
           GROUP BY schedule_slot HAVING count(*) > 1`,
      );
      expect(twice).toEqual([]);
      const lines = readFileSync(effects, 'utf8').split('\n').filter(Boolean);
      const seen = new Map<string, number>();
      for (const id of lines) seen.set(id, (seen.get(id) ?? 0) + 1);
      expect([...seen].filter(([, count]) => count > 1)).toEqual([]);
      expect(firstCompletion).toBeDefined();
      console.info(
        `failover: ${acknowledged.length} enqueues acknowledged (${beforeDeath} before the kill), ` +
          `${refused} refused during the outage; after the primary's death: promote + switch ` +
          `${Math.round(promotedAfterMs)} ms, first acknowledged enqueue ${Math.round(firstEnqueue ?? NaN)} ms, ` +
          `first job completed on the promoted standby ${Math.round(firstCompletion ?? NaN)} ms`,
      );
    } finally {
      enqueuing = false;
      await enqueuer;
      await ns.close({ force: true, graceMs: 0 });
    }
  }, 90_000);
});
