/** `nightshift tokens create|list|revoke`: API tokens. A new token's secret is printed once, here. */
import type { Command } from 'commander';
import { NightshiftError } from '../../errors.js';
import { API_ROLES, type ApiRole } from '../../store/store.js';
import { MAX_DELAY_MS, MAX_TOKEN_NAME_LENGTH } from '../../validation/bounds.js';
import { nonEmpty, usageError } from '../arguments.js';
import { printJson, renderTable, shortTime } from '../output.js';
import { withCommonOptions, withSession, type CommonOptions } from '../session.js';

interface CreateFlags extends CommonOptions {
  role: string;
  name: string;
  expiresIn?: string;
}

const DAY_MS = 86_400_000;
function parseRole(value: string): ApiRole {
  const roles: readonly string[] = API_ROLES;
  if (!roles.includes(value))
    throw usageError(`--role must be one of ${API_ROLES.join(', ')}, got "${value}"`);
  return value as ApiRole;
}

function parseName(value: string): string {
  // The token name rule of `issueToken` (and `POST /api/v1/tokens`), checked as the flag is parsed.
  if (value.trim() === '' || value.length > MAX_TOKEN_NAME_LENGTH)
    throw usageError(`--name must be 1-${MAX_TOKEN_NAME_LENGTH} characters, not blank`);
  return value;
}

/** Registers `tokens` and its subcommands. */
export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('create, list and revoke REST API tokens');

  withCommonOptions(
    tokens
      .command('create')
      .description('create an API token and print it (the only time it is shown)')
      // Checked as they are parsed, not by issueToken after connecting: a bad role must be the error
      // reported (exit 2) whatever the database, and must not open one.
      .requiredOption('--role <role>', API_ROLES.join(', '), parseRole)
      .requiredOption('--name <name>', 'what the token is for, e.g. the calling service', parseName)
      .option('--expires-in <duration>', 'expire after this long: 90s, 15m, 12h, 30d (default: never)'),
  ).action(async (flags: CreateFlags) => {
    const { issueToken, parseDuration } = await import('../../api/tokens.js');
    const expiresInMs = flags.expiresIn === undefined ? null : parseDuration('--expires-in', flags.expiresIn);
    // Past it the expiry would fall beyond year 9999, which no store can hold.
    if (expiresInMs !== null && expiresInMs > MAX_DELAY_MS)
      throw usageError(
        `--expires-in must be at most ${MAX_DELAY_MS / DAY_MS}d (100 years), got "${flags.expiresIn}"`,
      );
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      const { token, secret } = await issueToken(ns.store, {
        name: flags.name,
        role: flags.role,
        expiresInMs,
      });
      if (session.json) {
        printJson(session.stdout, { id: token.id, token: secret, role: token.role, name: token.name });
        return;
      }
      session.stdout.write(`${secret}\n`);
      process.stderr.write(
        `token ${token.id} (${token.role}, "${token.name}"${token.expiresAt ? `, expires ${shortTime(token.expiresAt)}` : ''}) created; ` +
          'it is shown only this once: keep it now\n',
      );
    });
  });

  withCommonOptions(tokens.command('list').description('list API tokens (never their secrets)')).action(
    async (flags: CommonOptions) => {
      const { tokenJson } = await import('../../api/routes/tokens.js');
      await withSession(flags, async (session) => {
        const ns = await session.connect();
        const all = await ns.store.tokenList();
        if (session.json) {
          printJson(session.stdout, { tokens: all.map(tokenJson) });
          return;
        }
        const now = Date.now();
        session.stdout.write(
          renderTable(
            ['ID', 'NAME', 'ROLE', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED'],
            all.map((t) => [
              t.id,
              t.name,
              t.role,
              t.revokedAt !== null
                ? 'revoked'
                : t.expiresAt !== null && t.expiresAt.getTime() <= now
                  ? 'expired'
                  : 'active',
              shortTime(t.createdAt),
              shortTime(t.expiresAt),
              shortTime(t.lastUsedAt),
            ]),
          ),
        );
      });
    },
  );

  withCommonOptions(
    tokens
      .command('revoke')
      .description('revoke an API token for good')
      .argument('<id>', 'token id (see tokens list)', nonEmpty('token id')),
  ).action(async (id: string, flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      if (!(await ns.store.tokenRevoke({ id })))
        throw new NightshiftError('not_found', `no active token ${id}`);
      if (session.json) printJson(session.stdout, { revoked: id });
      else session.stdout.write(`token ${id} revoked\n`);
    });
  });
}
