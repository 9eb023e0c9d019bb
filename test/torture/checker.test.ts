/**
 * The torture checker on small made-up histories: a correct one passes, and each property it guards
 * is reported when broken (so a passing torture run means something).
 */
import { describe, expect, it } from 'vitest';
import { checkRun, violationExcerpt } from './checker.js';
import type { FinalState } from './database.js';
import type { HistoryEvent } from './history.js';

const JOB = 'job-1';

/** An enqueue acknowledged, one execution killed (its lease lapsed), a second that completed. */
function correctRun(): { events: HistoryEvent[]; final: FinalState } {
  const events: HistoryEvent[] = [
    {
      t: 1,
      proc: 'driver',
      kind: 'op',
      op: 1,
      action: 'enqueue',
      args: { task: 'checkpointed', payload: { steps: 3, ms: 1 }, idempotencyKey: 'k' },
    },
    { t: 2, proc: 'driver', kind: 'ack', op: 1, result: { jobId: JOB, created: true } },
    { t: 3, proc: 'w1', kind: 'exec_start', jobId: JOB, task: 'checkpointed', attempt: 1, resumeFrom: 0 },
    { t: 4, proc: 'w1', kind: 'checkpoint_saved', jobId: JOB, attempt: 1, next: 1 },
    { t: 10, proc: 'w2', kind: 'exec_start', jobId: JOB, task: 'checkpointed', attempt: 2, resumeFrom: 1 },
    { t: 11, proc: 'w2', kind: 'exec_end', jobId: JOB, attempt: 2, outcome: 'returned' },
    { t: 12, proc: 'w2', kind: 'completed_event', jobId: JOB, attempt: 2 },
  ];
  const final: FinalState = {
    jobs: [
      {
        id: JOB,
        task: 'checkpointed',
        state: 'completed',
        attempt: 2,
        idempotencyKey: 'k',
        concurrencyKey: 'tenant-0',
        result: 5,
      },
    ],
    runs: [
      { jobId: JOB, attempt: 1, outcome: 'lease_lapsed' },
      { jobId: JOB, attempt: 2, outcome: 'completed' },
    ],
    transitions: [
      { seq: 1, jobId: JOB, from: null, to: 'queued', attempt: 0 },
      { seq: 2, jobId: JOB, from: 'queued', to: 'running', attempt: 1 },
      { seq: 3, jobId: JOB, from: 'running', to: 'queued', attempt: 1 },
      { seq: 4, jobId: JOB, from: 'queued', to: 'running', attempt: 2 },
      { seq: 5, jobId: JOB, from: 'running', to: 'completed', attempt: 2 },
    ],
    effects: [],
    slots: [],
    slotCounts: [{ kind: 'key', name: 'tenant-0', inUse: 0 }],
  };
  return { events, final };
}

function properties(events: HistoryEvent[], final: FinalState): string[] {
  return checkRun(events, final).map((violation) => violation.property);
}

describe('torture checker', () => {
  it('passes a correct history', () => {
    const { events, final } = correctRun();
    expect(checkRun(events, final)).toEqual([]);
  });

  it('reports a re-execution no lost lease explains', () => {
    const { events, final } = correctRun();
    final.runs = final.runs.filter((run) => run.outcome !== 'lease_lapsed');
    expect(properties(events, final)).toEqual(['unfenced_reexecution']);
  });

  it('accepts an earlier attempt that began late, after a later one, when its lease had lapsed', () => {
    const { events, final } = correctRun();
    // Worker w1 stalled between its claim and its handler: attempt 1 starts after attempt 2 did.
    const late = events.splice(2, 2);
    for (const event of late) event.t += 7.5;
    events.push(...late);
    events.sort((a, b) => a.t - b.t);
    expect(checkRun(events, final)).toEqual([]);
    // Without the lapsed run of attempt 1, the overlap is a re-execution no lost lease explains.
    final.runs = final.runs.filter((run) => run.outcome !== 'lease_lapsed');
    expect(properties(events, final)).toEqual(['unfenced_reexecution']);
  });

  it('reports more executions than claims', () => {
    const { events, final } = correctRun();
    final.transitions = final.transitions.filter((row) => row.seq !== 2 && row.seq !== 3);
    expect(properties(events, final)).toContain('execution_without_claim');
  });

  it('reports a retry that ignored a saved checkpoint, and a wrong result', () => {
    const { events, final } = correctRun();
    events[4] = {
      t: 10,
      proc: 'w2',
      kind: 'exec_start',
      jobId: JOB,
      task: 'checkpointed',
      attempt: 2,
      resumeFrom: 0,
    };
    const job = final.jobs[0];
    if (job) job.result = 6;
    expect(properties(events, final).sort()).toEqual(['checkpoint_not_resumed', 'wrong_result']);
  });

  it('reports a state change outside the state machine and a job left running', () => {
    const { events, final } = correctRun();
    final.transitions.push({ seq: 6, jobId: JOB, from: 'completed', to: 'running', attempt: 3 });
    const job = final.jobs[0];
    if (job) job.state = 'running';
    expect(properties(events, final).sort()).toEqual(['illegal_transition', 'stranded']);
  });

  it('reports an idempotency key acknowledged with two jobs', () => {
    const { events, final } = correctRun();
    events.push(
      {
        t: 20,
        proc: 'driver',
        kind: 'op',
        op: 2,
        action: 'enqueue',
        args: { task: 'quick', payload: { n: 1, ms: 1 }, idempotencyKey: 'k' },
      },
      { t: 21, proc: 'driver', kind: 'ack', op: 2, result: { jobId: 'job-2', created: true } },
    );
    final.jobs.push({
      id: 'job-2',
      task: 'quick',
      state: 'completed',
      attempt: 1,
      idempotencyKey: 'k2',
      concurrencyKey: null,
      result: 1,
    });
    expect(properties(events, final)).toContain('idempotency');
  });

  it('reports a transactional effect that did not happen exactly once', () => {
    const { events, final } = correctRun();
    final.jobs.push({
      id: 'tx-1',
      task: 'transactional',
      state: 'completed',
      attempt: 1,
      idempotencyKey: null,
      concurrencyKey: null,
      result: 1,
    });
    final.effects.push({ jobId: 'tx-1', attempt: 1 }, { jobId: 'tx-1', attempt: 2 });
    final.transitions.push({ seq: 9, jobId: 'tx-1', from: null, to: 'queued', attempt: 0 });
    expect(properties(events, final)).toEqual(['effect_not_once']);
  });

  it('reports a fan-out with some of its children, or a completed one without them', () => {
    const fanout = (id: string, state: string, children: number): void => {
      const { events, final } = correctRun();
      events.push(
        {
          t: 20,
          proc: 'driver',
          kind: 'op',
          op: 2,
          action: 'enqueue',
          args: { task: 'fanout', payload: { n: 7, children: 3, ms: 1 } },
        },
        { t: 21, proc: 'driver', kind: 'ack', op: 2, result: { jobId: id, created: true } },
        { t: 22, proc: 'w1', kind: 'exec_start', jobId: id, task: 'fanout', attempt: 1 },
      );
      final.transitions.push(
        { seq: 10, jobId: id, from: null, to: 'queued', attempt: 0 },
        { seq: 11, jobId: id, from: 'queued', to: 'running', attempt: 1 },
        { seq: 12, jobId: id, from: 'running', to: state, attempt: 1 },
      );
      final.jobs.push({
        id,
        task: 'fanout',
        state,
        attempt: 1,
        idempotencyKey: null,
        concurrencyKey: null,
        result: state === 'completed' ? 7 : null,
      });
      for (let index = 0; index < children; index += 1) {
        final.jobs.push({
          id: `${id}-c${index}`,
          task: 'quick',
          state: 'cancelled',
          attempt: 0,
          idempotencyKey: `child:${id}:c${index}`,
          concurrencyKey: null,
          result: null,
        });
      }
      verdicts.push(`${state} ${children}: ${properties(events, final).join(' ') || 'ok'}`);
    };
    const verdicts: string[] = [];
    fanout('f1', 'completed', 3);
    fanout('f2', 'failed', 0);
    fanout('f3', 'failed', 3);
    fanout('f4', 'completed', 2);
    fanout('f5', 'failed', 1);
    fanout('f6', 'completed', 0);
    expect(verdicts).toEqual([
      'completed 3: ok',
      'failed 0: ok',
      'failed 3: ok',
      'completed 2: children_not_once',
      'failed 1: children_not_once',
      'completed 0: children_not_once',
    ]);
  });

  it('reports a slot enqueued as a job that does not carry its key', () => {
    const { events, final } = correctRun();
    final.slots.push({ scheduleId: 's', slotKey: '1000', status: 'enqueued', jobId: 'gone' });
    expect(properties(events, final)).toEqual(['slot_twice']);
  });

  it('reports a key running more jobs with valid leases than its limit, and a slot left taken', () => {
    const { events, final } = correctRun();
    // Two more jobs of tenant-0 start while attempt 2 of job-1 still runs: three holders for a limit of 2.
    for (const [index, id] of ['job-2', 'job-3'].entries()) {
      events.push(
        { t: 10.5 + index / 10, proc: 'w3', kind: 'exec_start', jobId: id, task: 'quick', attempt: 1 },
        { t: 20 + index, proc: 'w3', kind: 'exec_end', jobId: id, attempt: 1, outcome: 'returned' },
      );
      final.jobs.push({
        id,
        task: 'quick',
        state: 'failed',
        attempt: 1,
        idempotencyKey: null,
        concurrencyKey: 'tenant-0',
        result: undefined,
      });
      final.transitions.push({ seq: 10 + index, jobId: id, from: 'queued', to: 'running', attempt: 1 });
    }
    events.sort((a, b) => a.t - b.t);
    expect(properties(events, final)).toEqual(['key_over_limit']);
    // Had job-1's second attempt lost its lease, its slot was free again: no violation.
    final.runs.push({ jobId: JOB, attempt: 2, outcome: 'lease_lapsed' });
    expect(properties(events, final)).toEqual([]);
    final.slotCounts = [{ kind: 'queue', name: 'default', inUse: 1 }];
    expect(properties(events, final)).toEqual(['slot_leak']);
  });

  it('shows the offending job’s events and rows in the excerpt', () => {
    const { events, final } = correctRun();
    final.runs = final.runs.filter((run) => run.outcome !== 'lease_lapsed');
    const [violation] = checkRun(events, final);
    if (!violation) throw new Error('expected a violation');
    const excerpt = violationExcerpt(violation, events, final);
    expect(excerpt.filter((line) => line.startsWith('history'))).toHaveLength(events.length);
    expect(excerpt).toContain('database transition queued -> running attempt 2');
  });
});
