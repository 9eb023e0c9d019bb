/**
 * `ctx.log` lines stored per attempt: written in batches (visible once the job is final, and while an
 * attempt runs after the short flush timer), bounded per attempt and per line, and deleted with their
 * job by `jobDelete` and retention.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LOG_LINE_BYTES, MAX_LOG_LINES_PER_ATTEMPT } from '../../src/worker/job-log-lines.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER, gate } from './engine-harness.js';

const env = engineEnv();

describe('job log lines', () => {
  it('are stored per attempt, in order, with their data, by the time the job is final', async () => {
    const ns = await env.connect({
      tasks: {
        flaky: {
          maxAttempts: 2,
          backoff: { baseMs: 10, jitter: 0 },
          handler: (_payload, ctx) => {
            ctx.log('starting', { attempt: ctx.job.attempt });
            ctx.log('no data');
            if (ctx.job.attempt === 1) throw new Error('first attempt fails');
            ctx.log('done', { nested: { list: [1, 2] } });
            return 'ok';
          },
        },
      },
    });
    const { id } = await ns.enqueue('flaky');
    ns.startWorker(FAST_WORKER);
    expect((await ns.waitFor(id, { timeoutMs: 10_000 })).state).toBe('completed');
    const logs = await ns.getJobLogs(id);
    expect(logs.map(({ attempt, level, message, data }) => ({ attempt, level, message, data }))).toEqual([
      { attempt: 1, level: 'info', message: 'starting', data: { attempt: 1 } },
      { attempt: 1, level: 'info', message: 'no data', data: null },
      { attempt: 2, level: 'info', message: 'starting', data: { attempt: 2 } },
      { attempt: 2, level: 'info', message: 'no data', data: null },
      { attempt: 2, level: 'info', message: 'done', data: { nested: { list: [1, 2] } } },
    ]);
    for (const line of logs) expect(line.at).toBeInstanceOf(Date);
    expect(await ns.getJobLogs('00000000-0000-7000-8000-000000000000')).toEqual([]);
  });

  it('of a running attempt appear within the flush timer, before it ends', async () => {
    const release = gate();
    const ns = await env.connect({
      tasks: {
        slow: async (_payload, ctx) => {
          ctx.log('halfway');
          await release.promise;
        },
      },
    });
    const { id } = await ns.enqueue('slow');
    ns.startWorker(FAST_WORKER);
    const seen = await waitUntil(async () => (await ns.getJobLogs(id)).length > 0, { timeoutMs: 5_000 });
    expect(seen).toBe(true);
    expect((await ns.getJob(id))?.state).toBe('running');
    release.open();
    expect((await ns.waitFor(id, { timeoutMs: 10_000 })).state).toBe('completed');
    expect((await ns.getJobLogs(id)).map((line) => line.message)).toEqual(['halfway']);
  });

  it('are bounded: lines per attempt (then one marker), message bytes and data bytes', async () => {
    const ns = await env.connect({
      tasks: {
        chatty: (_payload, ctx) => {
          ctx.log('é'.repeat(3000) + '\u0000');
          ctx.log('big data', { blob: 'x'.repeat(MAX_LOG_LINE_BYTES) });
          ctx.log('odd \ud800 data \udc00', { nul: 'a\u0000b', lone: '\ud800' });
          for (let i = 3; i < MAX_LOG_LINES_PER_ATTEMPT + 50; i += 1) ctx.log(`line ${i}`);
        },
      },
    });
    const { id } = await ns.enqueue('chatty');
    ns.startWorker(FAST_WORKER);
    expect((await ns.waitFor(id, { timeoutMs: 10_000 })).state).toBe('completed');
    const logs = await ns.getJobLogs(id);
    expect(logs).toHaveLength(MAX_LOG_LINES_PER_ATTEMPT + 1);
    const [first, second, third] = logs;
    expect(Buffer.byteLength(first!.message, 'utf8')).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES + 3);
    expect(first!.message).toMatch(/^é+…$/);
    expect(second!.data).toEqual({ truncated: true, bytes: expect.any(Number) as unknown });
    expect(third!.data).toEqual({ nul: 'a\ufffdb', lone: '\ufffd' });
    // One U+FFFD per lone surrogate on both backends.
    expect(third!.message).toBe('odd \ufffd data \ufffd');
    expect(logs[MAX_LOG_LINES_PER_ATTEMPT - 1]!.message).toBe(`line ${MAX_LOG_LINES_PER_ATTEMPT - 1}`);
    expect(logs.at(-1)).toMatchObject({
      attempt: 1,
      level: 'warn',
      message: expect.stringMatching(/^50 lines dropped/) as unknown,
      data: { dropped: 50 },
    });
  });

  it('are deleted with their job, by jobDelete and by retention', async () => {
    const ns = await env.connect({
      tasks: {
        logs: (_payload, ctx) => ctx.log('kept until the job goes'),
      },
    });
    ns.startWorker(FAST_WORKER);
    const deleted = await ns.enqueue('logs');
    const pruned = await ns.enqueue('logs');
    const kept = await ns.enqueue('logs');
    for (const { id } of [deleted, pruned, kept]) await ns.waitFor(id, { timeoutMs: 10_000 });
    for (const { id } of [deleted, pruned, kept]) expect(await ns.getJobLogs(id)).toHaveLength(1);

    expect(await ns.store.jobDelete({ id: deleted.id })).toEqual({ outcome: 'deleted' });
    expect(await ns.getJobLogs(deleted.id)).toEqual([]);

    await env.harness().setJobFields(ns.store, kept.id, { finishedAt: new Date() });
    await env.harness().setJobFields(ns.store, pruned.id, { finishedAt: new Date(Date.now() - 3_600_000) });
    expect(await ns.store.jobPrune({ olderThanMs: 60_000, limit: 10 })).toEqual({ deleted: 1 });
    expect(await ns.getJobLogs(pruned.id)).toEqual([]);
    expect(await ns.getJobLogs(kept.id)).toHaveLength(1);
  });
});
