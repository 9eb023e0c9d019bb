import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { NightshiftError } from '../../src/errors.js';
import { tempSqliteFile, type TempSqliteFile } from '../support/temp-sqlite.js';
import { FAST_WORKER } from '../worker/engine-harness.js';

const logger = createLogger({ level: 'silent' });
const files: TempSqliteFile[] = [];
afterEach(() => {
  for (const file of files.splice(0)) file.remove();
});

function tempUrl(): string {
  const file = tempSqliteFile();
  files.push(file);
  return `sqlite:${file.path}`;
}

describe('Nightshift.connect by URL', () => {
  it('opens and migrates the database, runs jobs, and close() stops workers and closes the store', async () => {
    const url = tempUrl();
    const ns = await Nightshift.connect({ db: url, tasks: { echo: (p: unknown) => p }, logger });
    const { id } = await ns.enqueue('echo', { hello: 'world' });
    const worker = ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ result: { hello: 'world' } });
    await ns.close();
    await expect(worker.failed).resolves.toBeUndefined();
    await expect(ns.store.jobGet({ id })).rejects.toThrow();
    await expect(ns.enqueue('echo', {})).rejects.toMatchObject({ code: 'invalid_argument' });

    // The job survived the close: a new instance on the same file reads it back.
    const again = await Nightshift.connect({ db: url, tasks: {}, migrate: false, logger });
    expect(await again.getJob(id)).toMatchObject({ state: 'completed', result: { hello: 'world' } });
    await again.close();
  });

  it('rejects bad task definitions and worker options before anything runs', async () => {
    await expect(
      Nightshift.connect({ db: tempUrl(), tasks: { bad: { handler: () => null, maxAttempts: 0 } }, logger }),
    ).rejects.toBeInstanceOf(NightshiftError);
    const ns = await Nightshift.connect({ db: tempUrl(), tasks: {}, logger });
    try {
      expect(() => ns.startWorker({ concurrency: 0 })).toThrow(/concurrency/);
      expect(() => ns.startWorker({ queues: [] })).toThrow(/queues/);
    } finally {
      await ns.close();
    }
  });
});
