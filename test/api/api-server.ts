/**
 * A real API server for tests: a Nightshift instance on a fresh SQLite file or PostgreSQL schema, the
 * server listening on a free loopback port, one token per role, and a fetch helper that sends JSON.
 */
import type { FastifyInstance } from 'fastify';
import { Compile } from 'typebox/compile';
import { z } from 'zod';
import { startApiServer } from '../../src/api/server.js';
import { issueToken } from '../../src/api/tokens.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ApiRole, Store } from '../../src/store/store.js';
import type { AlertsConfig } from '../../src/observe/alert.js';
import type { QueuesConfig } from '../../src/queue-limits.js';
import { defineTask, type TaskMap } from '../../src/task.js';
import type { ContractList } from '../../src/task-types.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { PostgresTestClock } from '../support/postgres-test-clock.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { MovableClock } from '../support/test-clock.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** The tasks every API test server knows. */
export const TEST_TASKS = {
  'email.send': defineTask({
    schema: z.object({ to: z.string().email(), subject: z.string().optional() }),
    handler: () => ({ sent: true }),
  }),
  noop: () => 'done',
};

/** A response: status, parsed JSON body (undefined when empty), headers. */
export interface TestResponse {
  status: number;
  // Tests read whatever fields they assert on; the shape is checked against the OpenAPI document.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
  headers: Headers;
}

/**
 * The store's clock, moved by hand (it runs on the host's or the database's clock until then): a job
 * comes due, a lease lapses, without waiting.
 */
export interface StoreClock {
  /** Stops the clock at `at` (ms since the epoch, whole ms); then only `advance` moves it. */
  freeze(at: number): Promise<void>;
  /** Moves the clock forward (or back, with a negative `ms`). */
  advance(ms: number): Promise<void>;
}

/** A running test server. */
export interface TestServer {
  ns: Nightshift;
  store: Store;
  clock: StoreClock;
  app: FastifyInstance;
  url: string;
  /** A usable secret for each role. */
  tokens: Record<ApiRole, string>;
  /** Sends a request; `token: null` sends none, `body` is JSON-encoded unless a string. */
  request(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

async function openBackend(
  backend: Backend,
): Promise<{ store: Store; clock: StoreClock; cleanup: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const file = tempSqliteFile();
    const movable = new MovableClock();
    const store = await SqliteStore.open({ filename: file.path, clock: movable.now });
    const clock: StoreClock = {
      freeze: (at) => Promise.resolve(movable.freeze(at)),
      advance: (ms) => Promise.resolve(movable.advance(ms)),
    };
    return { store, clock, cleanup: () => Promise.resolve(file.remove()) };
  }
  const schema = uniqueSchema('api');
  const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 4 });
  return { store, clock: new PostgresTestClock(schema), cleanup: () => dropSchema(schema) };
}

/**
 * Starts a server on `backend` with one token per role, knowing `tasks` (default TEST_TASKS),
 * `contracts` and `queues` settings.
 */
export async function startTestServer(
  backend: Backend,
  options: {
    bodyLimit?: number;
    readOnly?: boolean;
    tasks?: TaskMap;
    contracts?: ContractList;
    alerts?: AlertsConfig;
    queues?: QueuesConfig;
    eventsPingMs?: number;
  } = {},
): Promise<TestServer> {
  const { tasks = TEST_TASKS, contracts, alerts, queues, ...serverOptions } = options;
  const { store, clock, cleanup } = await openBackend(backend);
  const logger = createLogger({ level: 'silent' });
  const ns = await Nightshift.connect({
    db: store,
    tasks,
    logger,
    ...(contracts !== undefined && { contracts }),
    ...(alerts !== undefined && { alerts }),
    ...(queues !== undefined && { queues }),
  });
  const tokens = {} as Record<ApiRole, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    tokens[role] = (await issueToken(store, { name: `test-${role}`, role })).secret;
  }
  const { app, url } = await startApiServer({ ns, logger, host: '127.0.0.1', port: 0, ...serverOptions });
  const document = (await (
    await fetch(`${url}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${tokens.viewer}` } })
  ).json()) as OpenApiDocument;
  const checkAgainstDocument = responseChecker(document);
  return {
    ns,
    store,
    clock,
    app,
    url,
    tokens,
    async request(method, path, opts = {}) {
      const token = opts.token === undefined ? tokens.admin : opts.token;
      const headers: Record<string, string> = { ...opts.headers };
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(url + path, { method, headers, ...(body !== undefined && { body }) });
      const text = await response.text();
      // Prometheus text (GET /metrics) is kept as text; every other answer is JSON.
      const json = (response.headers.get('content-type') ?? 'application/json').includes('json');
      const parsed: unknown = text === '' || !json ? undefined : JSON.parse(text);
      checkAgainstDocument(method, path, response.status, parsed);
      return { status: response.status, text, body: parsed, headers: response.headers };
    },
    async close() {
      await app.close();
      await ns.close();
      await store.close();
      await cleanup();
    },
  };
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
}

/** A response that the OpenAPI document does not describe. */
export class UndocumentedResponse extends Error {}

/**
 * Checks every response a test receives against the OpenAPI document the server publishes: its status
 * must be listed for the route (exactly, or as 4XX/5XX), and its body must validate against the schema
 * listed (a 204 has none). Requests to paths the document does not have (a 404 for an unknown route)
 * are checked only for the error shape.
 */
function responseChecker(document: OpenApiDocument) {
  const routes = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    params: (template.match(/\{/g) ?? []).length,
  }));
  // Static segments win over parameters, as in the server's router.
  routes.sort((a, b) => a.params - b.params);
  const compiled = new Map<object, ReturnType<typeof Compile>>();
  const validator = (schema: object) => {
    let check = compiled.get(schema);
    if (check === undefined) {
      check = Compile(schema as Parameters<typeof Compile>[0]);
      compiled.set(schema, check);
    }
    return check;
  };
  return (method: string, path: string, status: number, body: unknown): void => {
    const pathname = path.split('?')[0] ?? path;
    const route = routes.find(
      (r) => r.pattern.test(pathname) && document.paths[r.template]?.[method.toLowerCase()],
    );
    if (route === undefined) {
      if (!(status === 404 && isErrorBody(body)))
        throw new UndocumentedResponse(`${method} ${path} is not in the document`);
      return;
    }
    const responses = document.paths[route.template]?.[method.toLowerCase()]?.responses ?? {};
    const documented = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
    if (documented === undefined)
      throw new UndocumentedResponse(`${method} ${route.template}: status ${status} is not documented`);
    const schema = documented.content?.['application/json']?.schema;
    if (schema === undefined) {
      if (body !== undefined)
        throw new UndocumentedResponse(
          `${method} ${route.template} ${status}: a body where none is documented`,
        );
      return;
    }
    const check = validator(schema);
    if (!check.Check(body)) {
      throw new UndocumentedResponse(
        `${method} ${route.template} ${status}: body does not match the document: ${JSON.stringify(check.Errors(body).slice(0, 3))} in ${JSON.stringify(body).slice(0, 300)}`,
      );
    }
  };
}

function isErrorBody(body: unknown): boolean {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}
