/**
 * A connection black-holed right after its handshake (reliability scenario 14, while a connection
 * opens): the pool's connect timeout (pg-pool's `connectionTimeoutMillis`) is cleared once the
 * handshake is done, before the pool's connect hook sends the connection's planner settings
 * (`PLANNER_SETTINGS`, pool.ts). That query had only the statement timeout's client-side bound
 * (65 s), and none at all with `statementTimeoutMs: 0`, so opening a connection could take 10 s + 65 s
 * or forever. Opening one must fail as `database_unavailable` within the connect bound, whatever the
 * statement timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import {
  CONNECT_TIMEOUT_MS,
  connectionSettings,
  createPool,
  withPooledClient,
} from '../../src/store/postgres/pool.js';
import { TEST_PG_URL } from '../support/postgres-harness.js';
import { startBlackholeProxy } from './blackhole-proxy.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const target = new URL(TEST_PG_URL);

describe.concurrent('a pooled connection black-holed right after its handshake', () => {
  it.for([{ statementTimeoutMs: 0 }, { statementTimeoutMs: 60_000 }])(
    'fails as database_unavailable within the connect bound (statementTimeoutMs: $statementTimeoutMs)',
    { timeout: 30_000 },
    async ({ statementTimeoutMs }) => {
      const proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port || 5432) });
      cleanups.push(() => proxy.close());
      proxy.blackholeAfterStartup(true);
      const viaProxy = new URL(TEST_PG_URL);
      viaProxy.port = String(proxy.port);
      const pool = createPool(
        connectionSettings({ connectionString: viaProxy.toString(), statementTimeoutMs }),
      );
      cleanups.push(() => pool.close(0));
      // The bound plus a margin, far short of the statement timeout's 65 s (or never, with 0) it took.
      const outcome = await Promise.race([
        withPooledClient(pool, (client) => client.query('SELECT 1')).then(
          () => 'answered' as const,
          (error: unknown) => error,
        ),
        sleep(CONNECT_TIMEOUT_MS + 5_000).then(() => 'still connecting' as const),
      ]);
      expect(outcome).toBeInstanceOf(NightshiftError);
      expect((outcome as NightshiftError).code).toBe('database_unavailable');
      // The handshake went through: the connection's settings are what went unanswered.
      expect((outcome as NightshiftError).message).toMatch(/settings/);
      // The connection was dropped, not kept for the next caller.
      expect(pool.totalCount).toBe(0);
    },
  );
});
