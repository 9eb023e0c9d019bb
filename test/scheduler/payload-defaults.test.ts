/**
 * A task's payload defaults (its `concurrencyKey` and `group` functions) in the scheduler: a slot's
 * job gets them from the schedule's payload, and when the function fails there the pass logs it and
 * enqueues the job without them, so every other schedule still fires; an operator's trigger gets the
 * error instead.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events.js';
import { ScheduleService } from '../../src/scheduler/schedule-service.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { TaskRegistry } from '../../src/task-registry.js';
import { expectCode } from '../support/expect-code.js';
import { BACKENDS, openFixture, QUEUE } from './fixture.js';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const MIN = 60_000;

describe.each(BACKENDS)('task payload defaults in the scheduler on $name', ({ harness }) => {
  afterEach(() => harness.close());

  it("keys a slot's job from the schedule's payload; a failing function is logged and skipped, not fatal", async () => {
    const f = await openFixture(harness, T0);
    // Created where the task derives nothing (the fixture's registry): the payloads pass.
    await f.service.create({ id: 'ok', task: 'report', everyMs: MIN, payload: { tenant: 'acme' } });
    await f.service.create({ id: 'bad', task: 'report', everyMs: MIN, payload: { tenant: 7 } });
    // The scheduler's process knows the task with payload defaults, which throw on a number.
    const registry = new TaskRegistry({
      report: {
        handler: () => undefined,
        queue: QUEUE,
        concurrencyKey: (p: { tenant: unknown }) => {
          if (typeof p.tenant !== 'string') throw new Error('tenant must be a string');
          return `report:${p.tenant}`;
        },
        group: (p: { tenant: unknown }) => (typeof p.tenant === 'string' ? p.tenant : null),
      },
    });
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
    await scheduler.runOnce();
    const [ok] = await f.jobsOf('ok');
    const [bad] = await f.jobsOf('bad');
    expect(ok).toMatchObject({ concurrencyKey: 'report:acme', group: 'acme' });
    expect(bad).toMatchObject({ concurrencyKey: null, group: null, scheduleId: 'bad' });
    expect(lines.join('')).toMatch(/"scheduleId":"bad".*job enqueued without its key and group/);
    expect(lines.join('')).toMatch(/tenant must be a string/);
    // An operator's trigger (the run before it finished) is refused instead, and enqueues nothing.
    await f.finishAll('completed');
    await expectCode(service.trigger('bad'), 'invalid_argument', /concurrencyKey function threw/);
    expect(await f.jobsOf('bad')).toHaveLength(1);
  });
});
