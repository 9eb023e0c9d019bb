/**
 * A schedule whose task the process does not declare (another deployment's config made it, or the
 * process registers only some tasks): the scheduler still fires its slots, into the schedule's queue
 * or `default` with no task defaults, and warns once per task; an operator's trigger is refused with
 * `unknown_task` and writes nothing, as an enqueue of the task would be.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events.js';
import { ScheduleService } from '../../src/scheduler/schedule-service.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { TaskRegistry } from '../../src/task-registry.js';
import { captureLogger } from '../support/capture-logger.js';
import { expectCode } from '../support/expect-code.js';
import { BACKENDS, openFixture, QUEUE, type ScheduleFixture } from './fixture.js';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const MIN = 60_000;

/** A scheduler and a schedule service of a process that declares no task, with what it logs. */
function processWithoutTasks(f: ScheduleFixture): {
  service: ScheduleService;
  scheduler: Scheduler;
  warnings: () => Array<{ msg: string; scheduleId: string; task: string; queue: string }>;
} {
  const { logger, lines } = captureLogger();
  const registry = new TaskRegistry({});
  const service = new ScheduleService(f.store, registry, () => Promise.resolve(new Date(f.clock.now())));
  const scheduler = new Scheduler(
    { store: f.store, registry, schedules: service, events: new EventBus(logger), logger },
    { clock: () => new Date(f.clock.now()) },
  );
  const warnings = () =>
    lines
      .map(
        (line) =>
          JSON.parse(line) as { level: number; msg: string; scheduleId: string; task: string; queue: string },
      )
      .filter((entry) => entry.level === 40);
  return { service, scheduler, warnings };
}

describe.each(BACKENDS)('a schedule of a task the process does not declare, on $name', ({ harness }) => {
  afterEach(() => harness.close());

  it('fires into its own queue or the default one, warning once per task', async () => {
    const f = await openFixture(harness, T0);
    // Created where the task is declared (the fixture's registry, queue `sched`).
    await f.service.create({ id: 'own-queue', task: 'report', everyMs: MIN, queue: 'reports' });
    await f.service.create({ id: 'task-queue', task: 'report', everyMs: MIN });
    await f.service.create({ id: 'other', task: 'other', everyMs: MIN });
    const { scheduler, warnings } = processWithoutTasks(f);
    // Two schedules of `report` fire in this pass: one warning for the task.
    await scheduler.runOnce();
    const queues = async (id: string) => (await f.jobsOf(id)).map((job) => [job.queue, job.maxAttempts]);
    expect(await queues('own-queue')).toEqual([['reports', 5]]);
    // Not the task's queue (QUEUE) nor its one attempt, which this process cannot know.
    expect(await queues('task-queue')).toEqual([['default', 5]]);
    expect(await queues('other')).toEqual([['default', 5]]);
    const warned = warnings();
    expect(warned.map((w) => w.task).sort()).toEqual(['other', 'report']);
    expect(warned.every((w) => w.msg.startsWith("this process does not declare the schedule's task"))).toBe(
      true,
    );
    expect(warned.find((w) => w.task === 'other')).toMatchObject({ scheduleId: 'other', queue: 'default' });
  });

  it('refuses an operator’s trigger with unknown_task, writing nothing', async () => {
    const f = await openFixture(harness, T0);
    await f.service.create({ id: 'report', task: 'report', everyMs: MIN, paused: true });
    const { service } = processWithoutTasks(f);
    await expectCode(
      service.trigger('report'),
      'unknown_task',
      /^unknown task "report": this process does not declare the task of schedule report/,
    );
    expect(await f.jobsOf('report')).toEqual([]);
    expect((await f.store.scheduleSlotList({ scheduleId: 'report', limit: 10 })).length).toBe(0);
    // Where the task is declared, the same trigger runs it in the task's queue.
    expect((await f.service.trigger('report')).status).toBe('enqueued');
    expect((await f.jobsOf('report')).map((job) => job.queue)).toEqual([QUEUE]);
  });
});
