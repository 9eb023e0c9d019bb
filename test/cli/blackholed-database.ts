/**
 * A PostgreSQL database of a CLI test's own, migrated by the CLI, and a URL reaching it through a
 * black-hole proxy (test/postgres/blackhole-proxy.ts): a service given `proxiedUrl` loses its database,
 * connections left half-open, at `proxy.blackhole(true)`, while `url` still reaches it directly.
 */
import { expect } from 'vitest';
import { startBlackholeProxy, type BlackholeProxy } from '../postgres/blackhole-proxy.js';
import { TEST_PG_URL } from '../support/postgres-harness.js';
import { runCli } from './cli-process.js';
import { createTestDatabase } from './fixtures.js';

/** A proxy of its own in front of the database, and the URL reaching the database through it. */
export interface ProxiedRoute {
  proxy: BlackholeProxy;
  url: string;
}

/** The database, both ways to reach it, and its removal (the proxies' too). */
export interface BlackholedDatabase {
  url: string;
  proxiedUrl: string;
  proxy: BlackholeProxy;
  /** Another proxy to the database, black-holed on its own (tests that run side by side). */
  openRoute(): Promise<ProxiedRoute>;
  drop(): Promise<void>;
}

/** Creates the database and migrates it with `nightshift migrate`, run in `cwd`. */
export async function createBlackholedDatabase(cwd: string): Promise<BlackholedDatabase> {
  const database = await createTestDatabase();
  const migrated = await runCli(['migrate', '--db', database.url], { cwd });
  expect(migrated.code, migrated.stderr).toBe(0);
  const target = new URL(TEST_PG_URL);
  const proxies: BlackholeProxy[] = [];
  const openRoute = async (): Promise<ProxiedRoute> => {
    const proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port || 5432) });
    proxies.push(proxy);
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    return { proxy, url: proxied.toString() };
  };
  const { proxy, url: proxiedUrl } = await openRoute();
  return {
    url: database.url,
    proxiedUrl,
    proxy,
    openRoute,
    drop: async () => {
      for (const opened of proxies) await opened.close();
      await database.drop();
    },
  };
}
