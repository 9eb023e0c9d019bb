/**
 * Secrets reach the server and nothing else: not the job rows, results, errors, run history or logs,
 * even when the server echoes them back in a success, a 4xx or a retried 5xx. Checked on the bytes
 * of the SQLite file (and its WAL) and on every row of every PostgreSQL table.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Nightshift } from '../../src/nightshift.js';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { withAdmin } from '../support/postgres-harness.js';
import { captureLogger } from '../support/capture-logger.js';
import { BACKENDS, httpJobsEnv, runJob, scriptedResolver, type Route } from './support.js';

const CONFIG_SECRET = 'sk-live-CONFIG-0123456789abcdef';
const ENV_SECRET = 'pk-ENV-9876543210/zyxw"vu';
const ENV_NAME = 'NIGHTSHIFT_SECRET_PARTNER_KEY';

/** Answers `status` with the request's headers as JSON: a server that echoes credentials. */
function echo(status: number): Route {
  return (request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(request.headers));
  };
}

/** Everything the store holds, as text: the SQLite file and its WAL, or every row of every table. */
async function storedText(ns: Nightshift, sqlitePath: () => string): Promise<string> {
  if (ns.store.dialect === 'sqlite') {
    const path = sqlitePath();
    const parts = [readFileSync(path)];
    try {
      parts.push(readFileSync(`${path}-wal`));
    } catch {
      // No WAL file: everything is in the main file.
    }
    return Buffer.concat(parts).toString('latin1');
  }
  const { schema } = ns.store as PostgresStore;
  return withAdmin(async (client) => {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
      [schema],
    );
    const rows: string[] = [];
    for (const { table_name } of tables.rows) {
      const result = await client.query<{ row: string }>(
        `SELECT t::text AS row FROM "${schema}"."${table_name}" t`,
      );
      rows.push(...result.rows.map((r) => r.row));
    }
    return rows.join('\n');
  });
}

describe.each(BACKENDS)('http.request secrets on %s', (backend) => {
  const env = httpJobsEnv(backend);
  beforeEach(() => {
    process.env[ENV_NAME] = ENV_SECRET;
  });
  afterEach(() => {
    delete process.env[ENV_NAME];
  });

  it('sends secrets to the server and keeps them out of rows, results, errors, run history and logs', async () => {
    const server = await env.server({
      '/echo': echo(200),
      '/echo-401': echo(401),
      '/echo-500': echo(500),
      '/elsewhere': (_q, r) =>
        r.writeHead(307, { location: `http://partner.test:${server.port}/echo` }).end(),
    });
    const resolver = scriptedResolver({ 'partner.test': [['127.0.0.1']] });
    const log = captureLogger();
    const ns = await env.connect({
      logger: log.logger,
      httpJobs: {
        allowHosts: ['127.0.0.1', 'partner.test'],
        allowPrivateNetworks: ['127.0.0.1'],
        secrets: { 'billing-token': CONFIG_SECRET },
        resolveHost: resolver.resolveHost,
      },
    });
    const headers = {
      Authorization: { secret: 'billing-token', format: 'Bearer {}' },
      'X-Partner-Key': { secret: 'partner-key' },
    };

    const ok = await runJob(ns, { url: server.url('/echo'), headers });
    const refused = await runJob(ns, { url: server.url('/echo-401'), headers });
    const retried = await runJob(ns, { url: server.url('/echo-500'), headers }, { maxAttempts: 2 });
    // A redirect to another origin does not carry the secret headers along.
    const moved = await runJob(ns, { url: server.url('/elsewhere'), headers, maxRedirects: 1 });

    const stored = await storedText(ns, () => env.sqlitePath(ns.store));
    for (const secret of [CONFIG_SECRET, ENV_SECRET, JSON.stringify(ENV_SECRET).slice(1, -1)]) {
      expect(stored).not.toContain(secret);
      expect(log.lines.join('')).not.toContain(secret);
    }
    // The searches read what was stored and logged: the redacted echoes are there.
    expect(stored).toContain('[redacted]');
    expect(stored).toContain(ok.job.id);
    expect(log.lines.join('')).toContain('[redacted]');

    expect(ok.job.state).toBe('completed');
    expect(ok.job.result).toMatchObject({
      json: { authorization: 'Bearer [redacted]', 'x-partner-key': '[redacted]' },
    });
    expect(refused.job).toMatchObject({ state: 'failed', attempt: 1 });
    expect(refused.job.error?.message).toContain('"authorization":"Bearer [redacted]"');
    expect(retried.runs.map((run) => run.outcome)).toEqual(['failed', 'failed']);
    expect(retried.runs[0]?.error?.message).toContain('"x-partner-key":"[redacted]"');
    expect(moved.job.result).toMatchObject({ status: 200, redirects: 1 });
    const [first] = server.hits('/echo');
    expect(first?.headers).toMatchObject({
      authorization: `Bearer ${CONFIG_SECRET}`,
      'x-partner-key': ENV_SECRET,
    });
    expect(server.hits('/elsewhere')[0]?.headers).toMatchObject({ authorization: `Bearer ${CONFIG_SECRET}` });
    const afterRedirect = server.hits('/echo')[1]?.headers;
    expect(afterRedirect?.host).toBe(`partner.test:${server.port}`);
    expect(afterRedirect).not.toHaveProperty('authorization');
    expect(afterRedirect).not.toHaveProperty('x-partner-key');
  });

  it('fails for good, naming where to define it, when a referenced secret is not defined', async () => {
    const server = await env.server({ '/echo': echo(200) });
    const ns = await env.connect({
      httpJobs: { allowHosts: ['127.0.0.1'], allowPrivateNetworks: ['127.0.0.1'] },
    });
    const { job } = await runJob(ns, {
      url: server.url('/echo'),
      headers: { Authorization: { secret: 'nowhere.token' } },
    });
    expect(job).toMatchObject({ state: 'failed', attempt: 1 });
    expect(job.error?.message).toBe(
      'secret "nowhere.token" is not defined: set NIGHTSHIFT_SECRET_NOWHERE_TOKEN or httpJobs.secrets["nowhere.token"] where the worker runs',
    );
    expect(server.received).toEqual([]);
  });
});
