/**
 * What the HTTP job tests share: real HTTP servers on loopback addresses, Nightshift instances on a
 * fresh database of either backend (both run in every file), and a logger whose lines are kept.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { captureLogger } from '../support/capture-logger.js';
import type { EnqueueOptions } from '../../src/enqueue.js';
import { Nightshift, type ConnectOptions } from '../../src/nightshift.js';
import type { Store } from '../../src/store/store.js';
import type { StoreHarness } from '../support/store-harness.js';
import { sqliteHarness } from '../support/sqlite-harness.js';
import { FAST_WORKER } from '../worker/engine-harness.js';
import type { BackendName } from '../long-jobs/backends.js';

export { BACKENDS } from '../long-jobs/backends.js';

/** A request a test server received. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A route: answers one request (a handler may also never answer). */
export type Route = (request: Received, response: ServerResponse) => void;

/** A running test server. */
export interface TestServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port<path>`. */
  url(path: string): string;
  /** Every request received, in order. */
  readonly received: Received[];
  /** Requests received on `path` (query string ignored). */
  hits(path: string): Received[];
}

/** Per-file environment: servers, instances and databases opened in a test are closed after it. */
export function httpJobsEnv(backend: BackendName) {
  const servers: Array<ReturnType<typeof createServer>> = [];
  const instances: Nightshift[] = [];
  let harness: StoreHarness | null = null;

  afterEach(async () => {
    for (const ns of instances.splice(0)) await ns.close({ force: true, graceMs: 0 });
    await harness?.close();
    harness = null;
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function openHarness(): Promise<StoreHarness> {
    if (backend === 'postgres') {
      const { postgresHarness } = await import('../support/postgres-harness.js');
      return postgresHarness('http');
    }
    return sqliteHarness();
  }

  return {
    /** A server on `host` (127.0.0.1 by default) answering `routes` by path; 404 elsewhere. */
    async server(routes: Record<string, Route>, host = '127.0.0.1'): Promise<TestServer> {
      const received: Received[] = [];
      const server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const entry = {
            method: request.method ?? '',
            url: request.url ?? '',
            headers: request.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          };
          received.push(entry);
          const route = routes[entry.url.split('?')[0] ?? ''];
          if (route) route(entry, response);
          else response.writeHead(404).end('no such route');
        });
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      const { port } = server.address() as AddressInfo;
      return {
        host,
        port,
        url: (path) => `http://${host}:${port}${path}`,
        received,
        hits: (path) => received.filter((r) => r.url.split('?')[0] === path),
      };
    },

    /** A Nightshift instance on a fresh database of this backend. */
    async connect(options: Omit<ConnectOptions, 'db'>): Promise<Nightshift> {
      harness ??= await openHarness();
      const store = await harness.open();
      const ns = await Nightshift.connect({ logger: captureLogger().logger, ...options, db: store });
      instances.push(ns);
      return ns;
    },

    /** The path of a SQLite store's file (SQLite only). */
    sqlitePath(store: Store): string {
      if (!harness || !('pathOf' in harness)) throw new Error('not a SQLite harness');
      return (harness as ReturnType<typeof sqliteHarness>).pathOf(store);
    },
  };
}

/** Answers `status` with a JSON body. */
export function json(status: number, body: unknown): Route {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
}

/** Answers with `routes[i]` on the i-th request to this route, and the last one after that. */
export function sequence(...routes: Route[]): Route {
  let calls = 0;
  return (request, response) => {
    const route = routes[Math.min(calls, routes.length - 1)];
    calls += 1;
    route?.(request, response);
  };
}

/** Never answers (until the server closes). */
export const hang: Route = () => undefined;

/** A resolver answering from `answers` per host name, one answer list per call, the last one repeated. */
export function scriptedResolver(answers: Record<string, string[][]>): {
  resolveHost: (hostname: string) => Promise<string[]>;
  calls: string[];
} {
  const calls: string[] = [];
  const counts = new Map<string, number>();
  return {
    calls,
    resolveHost(hostname) {
      calls.push(hostname);
      const script = answers[hostname];
      if (!script)
        return Promise.reject(
          Object.assign(new Error(`no test answer for ${hostname}`), { code: 'ENOTFOUND' }),
        );
      const n = counts.get(hostname) ?? 0;
      counts.set(hostname, n + 1);
      return Promise.resolve(script[Math.min(n, script.length - 1)] ?? []);
    },
  };
}

const working = new WeakSet<Nightshift>();

/** Enqueues an `http.request` job, runs it (one worker per instance), and returns it finished. */
export async function runJob(ns: Nightshift, payload: unknown, options: EnqueueOptions = {}) {
  const { id } = await ns.enqueue('http.request', payload, options);
  if (!working.has(ns)) {
    working.add(ns);
    ns.startWorker(FAST_WORKER);
  }
  const job = await ns.waitFor(id, { timeoutMs: 15_000 });
  return { job, runs: await ns.getJobRuns(id) };
}
