/**
 * Who may call what. Every route declares `config: { role }`: `public` (no token: /healthz, /readyz, /metrics),
 * or the lowest token role it needs, `viewer` < `operator` < `admin`. One onRequest hook enforces it:
 * no or an unknown, revoked or expired bearer token is 401, a token whose role is too low 403. A route
 * registered without a role makes the server refuse to start, so no endpoint is open by omission.
 * A read-only server (`http.readOnly`, `--read-only`) also refuses every mutating /api/v1 request, of
 * any role, with 403 `read_only`: a dashboard anyone may watch and nobody can act through.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Logger } from '../logger.js';
import { API_ROLES, type ApiRole, type TokenStore } from '../store/store.js';
import { ApiError } from './errors.js';
import { hashToken } from './tokens.js';

/** What a route requires: no token at all, or a token of at least this role. */
export type RouteRole = ApiRole | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route; see src/api/auth.ts. */
    role?: RouteRole;
    /**
     * Answer without a token while no usable token exists at all: GET /session, so the dashboard can
     * tell a new user to create one instead of asking for a token that cannot exist yet.
     */
    openWhileNoTokens?: boolean;
  }
  interface FastifyRequest {
    /** The token that authenticated this request (absent on public routes). */
    apiToken?: { id: string; name: string; role: ApiRole };
  }
}

/** True when a token of role `have` may call a route that needs `need`. */
export function roleAllows(have: ApiRole, need: ApiRole): boolean {
  return API_ROLES.indexOf(have) >= API_ROLES.indexOf(need);
}

// A token's last use is written at most this often per process: a write per request would double the
// cost of a read-only request, and "used in the last minute" is all anyone asks of the field.
const TOUCH_INTERVAL_MS = 60_000;

/** Checks bearer tokens against the store. */
export class TokenAuthenticator {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    private readonly logger: Logger,
  ) {}

  /** True while at least one unrevoked, unexpired token exists. */
  anyActive(): Promise<boolean> {
    return this.store.tokenAnyActive();
  }

  /** The token a request carries, or an ApiError 401. */
  async authenticate(header: string | undefined): Promise<{ id: string; name: string; role: ApiRole }> {
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new ApiError(
        401,
        'unauthorized',
        'this endpoint needs an API token: Authorization: Bearer <token>',
      );
    }
    const hash = hashToken(match[1] ?? '');
    const found = await this.store.tokenFind({ hash });
    // The lookup already matched the hash; the constant-time comparison keeps it that way should the
    // lookup ever become a prefix or case-insensitive match.
    if (found === undefined || !timingSafeEqual(Buffer.from(found.hash, 'hex'), Buffer.from(hash, 'hex'))) {
      throw new ApiError(401, 'unauthorized', 'the API token is unknown, revoked or expired');
    }
    this.touch(found.id);
    return { id: found.id, name: found.name, role: found.role };
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? -Infinity) < TOUCH_INTERVAL_MS) return;
    this.touched.set(id, now);
    this.store.tokenTouch({ id }).catch((error: unknown) => {
      this.touched.delete(id);
      this.logger.warn({ err: error, tokenId: id }, 'could not record an API token’s last use');
    });
  }
}

// Methods that only read: everything else changes something and is refused by a read-only server.
const READING_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Installs the role check: every route must declare a role, and every request is checked against it.
 * `readOnly` refuses every mutating request to a route that needs a token, after the token is checked
 * (so a missing token is still 401, and the answer tells nothing to a stranger).
 */
export function installRoleCheck(
  app: FastifyInstance,
  auth: TokenAuthenticator,
  options: { readOnly?: boolean } = {},
): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const role = route.config?.role;
    if (role !== 'public' && !(API_ROLES as readonly unknown[]).includes(role)) {
      throw new Error(`route ${route.method.toString()} ${route.url} declares no role (config.role)`);
    }
  });
  app.addHook('onRequest', async (request: FastifyRequest) => {
    // Unmatched URLs have no route and no role: they answer 404 from the not-found handler.
    const { role, openWhileNoTokens } = request.routeOptions.config;
    if (role === undefined || role === 'public') return;
    if (
      openWhileNoTokens === true &&
      request.headers.authorization === undefined &&
      !(await auth.anyActive())
    )
      return;
    const token = await auth.authenticate(request.headers.authorization);
    if (options.readOnly === true && !READING_METHODS.has(request.method)) {
      throw new ApiError(403, 'read_only', 'this server is read-only: it refuses every change');
    }
    if (!roleAllows(token.role, role)) {
      throw new ApiError(
        403,
        'forbidden',
        `this endpoint needs the ${role} role; the token has ${token.role}`,
      );
    }
    request.apiToken = token;
  });
}
