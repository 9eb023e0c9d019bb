/**
 * The REST API server: Fastify with TypeBox schemas, which validate requests, serialise responses and
 * generate the OpenAPI 3.1 document at `GET /api/v1/openapi.json`. `createApiServer` builds it on a
 * connected Nightshift instance (library use, tests); `startApiServer` also applies the listening rules
 * (no tokens: loopback only) and listens (the CLI's `serve` and `start`).
 *
 * Routes live one module per resource in ./routes; each declares the role it needs (./auth.ts). The
 * web dashboard's page and assets are served at `/` (./dashboard.ts).
 */
import { isIP } from 'node:net';
import swagger from '@fastify/swagger';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { NightshiftError } from '../errors.js';
import { checkLogger, type Logger } from '../logger.js';
import type { Nightshift } from '../nightshift.js';
import { DEFAULT_ALERT_INTERVAL_MS } from '../observe/alert.js';
import { AlertMonitor } from '../observe/alert-monitor.js';
import { installRoleCheck, TokenAuthenticator } from './auth.js';
import { installDashboard } from './dashboard.js';
import { InFlightRequests } from './in-flight.js';
import { errorHandler } from './errors.js';
import { booleanIn, intIn } from '../validation/bounds.js';
import { cannotListen, holdAddress, type HeldAddress } from './held-address.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';
import { parseJsonBody } from './json-body.js';
import { responses } from './schemas.js';
import { refuseUndeclaredInput } from './strict-input.js';
import { checkQueryValueText } from './query-values.js';
import { EVENTS_PING_MS, eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes, observeRoutes } from './routes/observe.js';
import { limitRoutes } from './routes/limits.js';
import { queueRoutes } from './routes/queues.js';
import { scheduleRoutes } from './routes/schedules.js';
import { sessionRoutes } from './routes/session.js';
import { taskRoutes } from './routes/tasks.js';
import { tokenRoutes } from './routes/tokens.js';
import { workerRoutes } from './routes/workers.js';
import {
  BODY_LIMIT_RANGE,
  DEFAULT_BODY_LIMIT,
  DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT,
} from './listen-defaults.js';

/** Options of `createApiServer`. */
export interface ApiServerOptions {
  ns: Nightshift;
  /** Largest request body in bytes, 1 KiB to 1 GiB; larger ones get 413. Default 2 MiB (config `http.bodyLimit`). */
  bodyLimit?: number;
  /** Where 5xx details and warnings go. Default: the instance's logger. */
  logger?: Logger;
  /** Interval of the `: ping` comments on event streams (`GET /api/v1/events`). Default 15 s. */
  eventsPingMs?: number;
  /** Refuse every mutating /api/v1 request with 403 `read_only` (config `http.readOnly`). Default false. */
  readOnly?: boolean;
}

// A misspelt option is refused: a `readonly: true` would serve a dashboard that can change everything.
const SERVER_OPTION_NAMES = keyNames<ApiServerOptions>({
  ns: true,
  bodyLimit: true,
  logger: true,
  eventsPingMs: true,
  readOnly: true,
});
const LISTEN_OPTION_NAMES: ReadonlySet<string> = new Set([...SERVER_OPTION_NAMES, 'host', 'port']);

/** The API prefix of every route but health checks. */
export const API_PREFIX = '/api/v1';

/** Builds the API server (not listening yet). */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  return (await buildApiServer(options)).app;
}

/** The API server, and its requests in flight, which its bounded close answers (./in-flight.ts). */
async function buildApiServer(
  options: ApiServerOptions,
): Promise<{ app: FastifyInstance; requests: InFlightRequests }> {
  refuseUnknownKeys(options, SERVER_OPTION_NAMES, 'API server option', { code: 'config_error' });
  const { ns } = options;
  if (options.logger !== undefined) checkLogger(options.logger, 'config_error');
  const readOnly = booleanIn('http.readOnly', options.readOnly ?? false, { code: 'config_error' });
  const bodyLimit = intIn('http.bodyLimit', options.bodyLimit ?? DEFAULT_BODY_LIMIT, BODY_LIMIT_RANGE, {
    code: 'config_error',
  });
  const logger = options.logger ?? ns.logger;
  const onError = errorHandler(logger);
  const app = Fastify({
    bodyLimit,
    // Fastify's default (100 characters) answered longer path parameters with 414 in its own error
    // shape; route schemas bound them instead (a 255-byte queue name percent-encoded is up to 765).
    routerOptions: { maxParamLength: 1_024 },
    // Requests are not logged one by one (a busy enqueuer would flood the log); failures are, by the
    // error handler.
    logger: false,
    // Errors met before routing (a path with a broken percent-escape typed into the address bar) reach
    // no error handler: answered here in the API's one error shape rather than Fastify's own.
    frameworkErrors: (error, request, reply) => void onError(error, request, reply),
    // A request arriving while the server closes is answered by InFlightRequests, in the API's shape.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  // JSON only: Fastify's own text/plain parser would hand a route a string, answered "body must be
  // object" (400) where the client sent a type the API does not take (415).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.setErrorHandler(onError);
  const requests = new InFlightRequests(app, logger);
  installRoleCheck(app, new TokenAuthenticator(ns.store, logger), { readOnly });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'nightshift',
        description:
          'Durable background jobs and recurring schedules. Every /api/v1 route needs `Authorization: Bearer <token>`. A query parameter a route does not list, a body field its request body does not list, or a body on a route without a request body (other than an empty `{}`) is refused with 400 invalid_argument.',
        version: '1',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  await app.register(healthRoutes, { ns });
  await app.register(metricsRoutes, { ns });
  // Answers unknown paths too: a browser's reload on a dashboard route gets the page, others a 404.
  await installDashboard(app);
  await app.register(
    async (api) => {
      refuseUndeclaredInput(api);
      checkQueryValueText(api);
      await api.register(jobRoutes, { ns });
      await api.register(scheduleRoutes, { ns });
      await api.register(queueRoutes, { ns });
      await api.register(limitRoutes, { ns });
      await api.register(tokenRoutes, { ns });
      await api.register(observeRoutes, { ns });
      await api.register(eventRoutes, { ns, logger, pingMs: options.eventsPingMs ?? EVENTS_PING_MS });
      await api.register(sessionRoutes, { readOnly });
      await api.register(workerRoutes, { ns });
      await api.register(taskRoutes, { ns });
      api.get(
        '/openapi.json',
        {
          config: { role: 'viewer' },
          schema: {
            summary: 'This OpenAPI 3.1 document',
            tags: ['meta'],
            response: responses({ 200: Type.Unknown({ description: 'the document' }) }),
          },
        },
        (_request, reply) => reply.send(app.swagger()),
      );
    },
    { prefix: API_PREFIX },
  );
  // The counters count from here: made at the first scrape, they would miss what happened before it.
  await ns.metrics();
  // Alerts become events (alert:raised, alert:cleared) in the process serving the API; see
  // src/observe/alert-monitor.ts for why here.
  const monitor = new AlertMonitor({
    compute: () => ns.alerts(),
    events: ns.events,
    logger,
    intervalMs: ns.alertsConfig.intervalMs ?? DEFAULT_ALERT_INTERVAL_MS,
  });
  app.addHook('onReady', (done) => {
    monitor.start();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    monitor.stop();
    done();
  });
  await app.ready();
  return { app, requests };
}

/** True for a host name or address that only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '::ffff:127.0.0.1';
}

/**
 * Builds the server and listens on `host:port` (port 0: any free port). Refuses a non-loopback address
 * while no usable token exists; on loopback without tokens it warns that every /api/v1 request will be
 * refused until one is created. Resolves with the server, the address it listens on and a close that
 * ends within a bound (`ServedApi.close`), where `app.close()` waits for every request in flight.
 */
export async function startApiServer(
  options: ApiServerOptions & { host?: string; port?: number },
): Promise<ServedApi> {
  refuseUnknownKeys(options, LISTEN_OPTION_NAMES, 'API server option', { code: 'config_error' });
  const { host, port, ...serverOptions } = options;
  return serveApiOn(await holdApiAddress({ host, port }), serverOptions);
}

/**
 * Listens on the API's address (`host` and `port` over the defaults) before the API exists, so that a
 * service can refuse a port in use before it opens its database; `serveApiOn` then serves there.
 */
export async function holdApiAddress(at: {
  host?: string | undefined;
  port?: number | undefined;
}): Promise<HeldAddress> {
  const { host = DEFAULT_HTTP_HOST, port = DEFAULT_HTTP_PORT } = at;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new NightshiftError(
      'config_error',
      `the API port must be an integer from 0 to 65535, got ${String(port)}`,
    );
  }
  if (typeof host !== 'string' || host === '') {
    throw new NightshiftError(
      'config_error',
      `the API host must be a host name or address, got ${String(host)}`,
    );
  }
  return holdAddress(host, port);
}

/** An API server listening (`startApiServer`, `serveApiOn`). */
export interface ServedApi {
  app: FastifyInstance;
  /** Where it listens, `http://host:port`. */
  url: string;
  /**
   * Closes the server within a bound: no new request from now on, the requests in flight get at most
   * `waitMs`, then each one not yet answered gets 503 `shutting_down` (whether it took effect is
   * unknown) and every connection left is closed. `app.close()` instead waits for every request in
   * flight, however long (one waiting on a database that does not answer: until its timeouts). A
   * second call with a shorter wait hurries it. Resolves once the server has closed, within `waitMs`
   * plus a second unless an `onClose` hook of yours takes longer; the Nightshift instance stays open.
   */
  close(params: { waitMs: number }): Promise<void>;
}

/**
 * Builds the server and serves it on `address`, which it takes over (no moment without a listener), or
 * releases if the API cannot start. Resolves as `startApiServer` does, with the bounded close as well.
 */
export async function serveApiOn(address: HeldAddress, options: ApiServerOptions): Promise<ServedApi> {
  const { host, port } = address;
  const logger = options.logger ?? options.ns.logger;
  let hasTokens: boolean;
  let app: FastifyInstance;
  let requests: InFlightRequests;
  try {
    hasTokens = await options.ns.store.tokenAnyActive();
    if (!hasTokens && !isLoopback(host)) {
      throw new NightshiftError(
        'config_error',
        `refusing to listen on ${host}, beyond this machine, while no API token exists: create one first (nightshift tokens create --role admin --name NAME) or listen on 127.0.0.1`,
      );
    }
    ({ app, requests } = await buildApiServer(options));
  } catch (error) {
    await address.release();
    throw error;
  }
  try {
    await address.handTo(app);
  } catch (error) {
    await app.close();
    await address.release();
    throw cannotListen(host, port, error);
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (!hasTokens) {
    logger.warn(
      { url },
      'no API token exists: every /api/v1 request is refused (401) until you create one with "nightshift tokens create --role admin --name NAME"',
    );
  }
  logger.info({ url, dashboard: `${url}/`, openapi: `${url}${API_PREFIX}/openapi.json` }, 'API listening');
  return { app, url, close: (params) => requests.close(params) };
}
