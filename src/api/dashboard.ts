/**
 * Serves the web dashboard (built by `npm run build` from dashboard/ into dist/dashboard) at `/`: its
 * assets need no token, the page asks for one. Any other GET that wants HTML and is not an API path
 * answers the dashboard's index page, so a reload on a client route (/jobs/…) keeps working.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';

/**
 * The built dashboard. src/api and dist/api both sit two levels below the package root, so the same
 * path serves the tests (run from src) and the installed package (run from dist).
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url));

// Asset names carry a content hash: a browser may keep them for good. The index page names the
// current ones, so it is revalidated on every load.
const ASSET_CACHE = { maxAge: '365d', immutable: true } as const;
const INDEX_CACHE = { cacheControl: false } as const;

/** Registers the dashboard's routes on `app`, and its fallback in `notFound`. */
export async function installDashboard(app: FastifyInstance, root = DASHBOARD_DIR): Promise<void> {
  const built = existsSync(`${root}/index.html`);
  // serve: false, because the routes the plugin would add declare no role; ours declare `public`.
  await app.register(fastifyStatic, { root, serve: false });
  const index = (_request: FastifyRequest, reply: FastifyReply) => {
    if (!built) return reply.status(404).send(errorBody('not_found', notBuiltMessage(root)));
    return reply.header('cache-control', 'no-cache').sendFile('index.html', INDEX_CACHE);
  };
  app.get('/', { config: { role: 'public' }, schema: { hide: true } }, index);
  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    { config: { role: 'public' }, schema: { hide: true } },
    (request, reply) => reply.sendFile(`assets/${request.params['*']}`, ASSET_CACHE),
  );
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (wantsPage(request, path)) return index(request, reply);
    return reply.status(404).send(errorBody('not_found', `no route ${request.method} ${path}`));
  });
}

/** A browser navigating to a client route of the dashboard, not an API client or a missing asset. */
function wantsPage(request: FastifyRequest, path: string): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (path.startsWith('/api/') || path.startsWith('/assets/')) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

function notBuiltMessage(root: string): string {
  return `the dashboard is not built (${root} has no index.html): run npm run build`;
}
