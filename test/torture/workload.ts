/**
 * The client side of a torture run: a seeded stream of operations (enqueues with and without
 * idempotency keys, delays, priorities, concurrency keys; cancels; retries; schedules created, paused
 * and resumed),
 * each recorded before it is sent and again with what the database acknowledged (or the error).
 */
import type { Nightshift } from '../../src/nightshift.js';
import type { HistoryWriter, OpAction } from './history.js';
import type { Random } from './prng.js';

/** The limit every tenant key's jobs carry (the checker holds executions to it). */
export const TENANT_LIMIT = 2;

/** What the workload remembers to aim its cancels, retries and schedule changes. */
interface Known {
  jobs: string[];
  schedules: string[];
}

/** Runs one client: operations until `signal` aborts. Never throws for a refused operation. */
export class Workload {
  private op = 0;
  private readonly known: Known = { jobs: [], schedules: [] };

  constructor(
    private readonly ns: Nightshift,
    private readonly history: HistoryWriter,
    private readonly random: Random,
  ) {}

  /** Schedules created so far (the drain pauses them all). */
  get schedules(): readonly string[] {
    return this.known.schedules;
  }

  /** Sends one operation and records it; returns once acknowledged or refused. */
  async step(): Promise<void> {
    const roll = this.random.next();
    if (roll < 0.68 || this.known.jobs.length === 0) await this.enqueue();
    else if (roll < 0.8)
      await this.send('cancel', { jobId: this.random.pick(this.known.jobs) }, async (args) =>
        summary(await this.ns.cancelJob(String(args['jobId']))),
      );
    else if (roll < 0.9)
      await this.send('retry', { jobId: this.random.pick(this.known.jobs) }, async (args) =>
        summary(await this.ns.retryJob(String(args['jobId']))),
      );
    else if (roll < 0.94 && this.known.schedules.length < 6) await this.createSchedule();
    else if (this.known.schedules.length > 0) {
      const id = this.random.pick(this.known.schedules);
      if (this.random.chance(0.5))
        await this.send('schedule_pause', { id }, async () => ({
          id: (await this.ns.schedules.pause(id)).id,
        }));
      else
        await this.send('schedule_resume', { id }, async () => ({
          id: (await this.ns.schedules.resume(id)).id,
        }));
    }
  }

  /** Pauses every schedule created, so the run can drain. */
  async pauseAll(): Promise<void> {
    for (const id of this.known.schedules) {
      await this.send('schedule_pause', { id }, async () => ({ id: (await this.ns.schedules.pause(id)).id }));
    }
  }

  private async enqueue(): Promise<void> {
    const random = this.random;
    const task = random.pick([
      'quick',
      'quick',
      'quick',
      'slow',
      'flaky',
      'checkpointed',
      'transactional',
      'fanout',
    ]);
    const n = random.int(1, 1_000_000);
    const payload =
      task === 'quick'
        ? { n, ms: random.int(5, 60) }
        : task === 'slow'
          ? { n, ms: random.int(500, 3_000) }
          : task === 'flaky'
            ? { n, failUntil: random.int(0, 3) }
            : task === 'checkpointed'
              ? { steps: random.int(3, 12), ms: random.int(100, 400) }
              : task === 'fanout'
                ? { n, children: random.int(2, 40), ms: random.int(50, 1_500) }
                : { n };
    const options: Record<string, unknown> = {};
    if (random.chance(0.25)) options['idempotencyKey'] = `key-${random.int(0, 40)}`;
    if (random.chance(0.2)) options['delayMs'] = random.int(100, 3_000);
    if (random.chance(0.3)) options['priority'] = random.int(-5, 5);
    if (random.chance(0.3)) {
      options['concurrencyKey'] = `tenant-${random.int(0, 3)}`;
      options['concurrencyLimit'] = TENANT_LIMIT;
    }
    await this.send('enqueue', { task, payload, ...options }, async () => {
      const { task: name, payload: body, ...rest } = { task, payload, ...options };
      const result = await this.ns.enqueue(name, body, rest);
      this.known.jobs.push(result.id);
      return { jobId: result.id, created: result.created, state: result.job.state };
    });
  }

  private async createSchedule(): Promise<void> {
    const id = `schedule-${this.known.schedules.length + 1}`;
    const everyMs = this.random.int(1_000, 3_000);
    await this.send('schedule_create', { id, everyMs }, async () => {
      const schedule = await this.ns.schedules.create({
        id,
        task: 'tick',
        everyMs,
        payload: { n: 0, ms: 20 },
      });
      this.known.schedules.push(id);
      return { id: schedule.id };
    });
  }

  private async send(
    action: OpAction,
    args: Record<string, unknown>,
    call: (args: Record<string, unknown>) => Promise<Record<string, unknown>>,
  ): Promise<void> {
    const op = (this.op += 1);
    this.history.record({ kind: 'op', op, action, args });
    try {
      const result = await call(args);
      this.history.record({ kind: 'ack', op, result });
    } catch (error) {
      this.history.record({
        kind: 'nack',
        op,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/** What a cancel or retry said: its outcome and the job's state after it. */
function summary(result: { outcome: string; job?: { state: string } }): Record<string, unknown> {
  return { outcome: result.outcome, ...(result.job !== undefined && { state: result.job.state }) };
}
