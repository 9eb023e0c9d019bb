/**
 * While the cluster is in a condition the API reports with 503 (here: the enqueue queue full while the
 * database's write lock is held), every request answers it; the server's log gets one warning per
 * condition and interval, without a stack, not an error with a stack per request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startApiServer } from '../../src/api/server.js';
import { issueToken } from '../../src/api/tokens.js';
import { Nightshift } from '../../src/nightshift.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { captureLogger } from '../support/capture-logger.js';
import { newJob } from '../support/jobs.js';
import { tempSqliteFile, type TempSqliteFile } from '../support/temp-sqlite.js';

const files: TempSqliteFile[] = [];
afterEach(() => {
  for (const file of files.splice(0)) file.remove();
});

describe('API log while a 503 condition lasts', () => {
  it('logs an overloaded enqueue queue once, as a warning without a stack', async () => {
    const file = tempSqliteFile();
    files.push(file);
    const { logger, lines } = captureLogger();
    const ns = await Nightshift.connect({
      db: `sqlite:${file.path}`,
      tasks: { noop: () => null },
      logger,
      enqueue: { maxPending: 1 },
    });
    const { secret } = await issueToken(ns.store, { name: 'op', role: 'operator' });
    const { app, url } = await startApiServer({ ns, host: '127.0.0.1', port: 0 });
    const peer = await SqliteStore.open({ filename: file.path });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // Another connection holds SQLite's write lock: every enqueue waits for it.
    const blocker = peer.transaction(async (tx) => {
      await peer.jobInsertMany({ jobs: [newJob({ task: 'noop' })], tx });
      holding();
      await released;
    });
    try {
      await held;
      const before = lines.length;
      let refusedSoFar = 0;
      let enoughRefused!: () => void;
      const refusedEnough = new Promise<void>((resolve) => (enoughRefused = resolve));
      const answering = Array.from({ length: 8 }, () =>
        fetch(`${url}/api/v1/jobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ task: 'noop', payload: {} }),
        }).then(async (response) => {
          if (response.status !== 503) return response.status;
          const body = (await response.json()) as { error: { code: string } };
          if (body.error.code === 'overloaded' && ++refusedSoFar === 3) enoughRefused();
          return body.error.code;
        }),
      );
      // The refused answer at once; the others wait for the lock, released once three were refused.
      await refusedEnough;
      release();
      const answers = await Promise.all(answering);
      const refused = answers.filter((answer) => answer === 'overloaded').length;
      expect(refused).toBeGreaterThanOrEqual(3);
      const logged = lines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
      const about = logged.filter((line) => String(line.msg).startsWith('API request'));
      expect(about).toHaveLength(1);
      expect(about[0]).toMatchObject({ level: 40, code: 'overloaded', method: 'POST', url: '/api/v1/jobs' });
      expect(about[0]?.msg).toMatch(/^API request answered 503: enqueue refused: /);
      expect(about[0]).not.toHaveProperty('err');
    } finally {
      release();
      await blocker;
      await app.close();
      await ns.close();
      await peer.close();
    }
  });
});
