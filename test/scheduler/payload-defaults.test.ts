/**
 * A task's and a queue's payload defaults (their `concurrencyKey` and `group` functions) in the
 * scheduler: a slot's job gets them from the schedule's payload, and when a function fails there the
 * pass logs it and enqueues the job without them, so every other schedule still fires; an operator's
 * trigger gets the error instead.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events.js';
import { checkQueuesConfig } from '../../src/queue-limits.js';
import { ScheduleService } from '../../src/scheduler/schedule-service.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { TaskRegistry } from '../../src/task-registry.js';
import { expectCode } from '../support/expect-code.js';
import { BACKENDS, openFixture, QUEUE, type ScheduleFixture } from './fixture.js';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const MIN = 60_000;

/** Derives `report:<tenant>`; throws on a tenant that is not a string. */
function reportKey(payload: unknown): string {
  const tenant = (payload as { tenant: unknown }).tenant;
  if (typeof tenant !== 'string') throw new Error('tenant must be a string');
  return `report:${tenant}`;
}

function tenantGroup(payload: unknown): string | null {
  const tenant = (payload as { tenant: unknown }).tenant;
  return typeof tenant === 'string' ? tenant : null;
}

/** The scheduler's process knows the task with the functions, or gives them to the task's queue. */
const SOURCES = [
  {
    source: 'task',
    registry: () =>
      new TaskRegistry({
        report: { handler: () => undefined, queue: QUEUE, concurrencyKey: reportKey, group: tenantGroup },
      }),
    refusal: /task "report": its concurrencyKey function threw/,
  },
  {
    source: 'queue',
    registry: () =>
      new TaskRegistry(
        { report: { handler: () => undefined, queue: QUEUE } },
        {
          queueDefaults: checkQueuesConfig(
            { [QUEUE]: { concurrencyKey: reportKey, concurrencyLimit: 2, group: tenantGroup } },
            'invalid_argument',
          ).defaults,
        },
      ),
    refusal: /queue "sched" \(task "report"\): its concurrencyKey function threw/,
  },
];

/** A scheduler of a process that knows `registry`, with the lines it logs at `error`. */
function schedulerWith(
  f: ScheduleFixture,
  registry: TaskRegistry,
): { service: ScheduleService; scheduler: Scheduler; lines: string[] } {
  const lines: string[] = [];
  const logger = pino(
    { level: 'error' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const service = new ScheduleService(f.store, registry, () => Promise.resolve(new Date(f.clock.now())));
  const scheduler = new Scheduler(
    { store: f.store, registry, schedules: service, events: new EventBus(logger), logger },
    { clock: () => new Date(f.clock.now()) },
  );
  return { service, scheduler, lines };
}

describe.each(BACKENDS)('payload defaults in the scheduler on $name', ({ harness }) => {
  afterEach(() => harness.close());

  it.each(SOURCES)(
    "keys a slot's job by the $source functions; a failing one is logged and skipped, not fatal",
    async ({ registry, refusal }) => {
      const f = await openFixture(harness, T0);
      // Created where nothing derives a key (the fixture's registry): the payloads pass.
      await f.service.create({ id: 'ok', task: 'report', everyMs: MIN, payload: { tenant: 'acme' } });
      await f.service.create({ id: 'bad', task: 'report', everyMs: MIN, payload: { tenant: 7 } });
      const { service, scheduler, lines } = schedulerWith(f, registry());
      await scheduler.runOnce();
      const [ok] = await f.jobsOf('ok');
      const [bad] = await f.jobsOf('bad');
      expect(ok).toMatchObject({ concurrencyKey: 'report:acme', group: 'acme' });
      expect(bad).toMatchObject({ concurrencyKey: null, group: null, scheduleId: 'bad' });
      const log = lines.join('');
      expect(log).toMatch(/"scheduleId":"bad".*job enqueued without its key and group/);
      expect(log.replaceAll('\\"', '"')).toMatch(refusal);
      expect(log).toMatch(/tenant must be a string/);
      // An operator's trigger (the run before it finished) is refused instead, and enqueues nothing.
      await f.finishAll('completed');
      await expectCode(service.trigger('bad'), 'invalid_argument', refusal);
      expect(await f.jobsOf('bad')).toHaveLength(1);
    },
  );
});
