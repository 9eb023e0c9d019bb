/**
 * Compile-time tests of the schedule writes of a typed instance (`schedules.create`, `upsert`,
 * `upsertMany`, `update`, `sync`, `startScheduler({ schedules })`): checked by `npm run typecheck` (tsc
 * over test/), never run. Each `@ts-expect-error` line must fail to compile (tsc reports an unused
 * directive otherwise), and every other line must compile.
 */
import { z } from 'zod';
import { Nightshift, defineContract, type ScheduleInput } from '../../src/index.js';

const sendInvoice = defineContract('invoice.send', {
  payload: z.object({ orderId: z.number(), copies: z.number().int().default(1) }),
});
const tenantSync = defineContract('tenant.sync', { payload: z.object({ tenant: z.string() }) });

export async function upsert(dynamicName: string): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice, tenantSync] });

  // The README's example.
  await ns.schedules.upsert({
    id: 'reminder-42',
    task: 'invoice.send',
    cron: '0 2 * * *',
    payload: { orderId: 42 },
  });
  await ns.schedules.upsert({
    id: 't',
    task: 'tenant.sync',
    everyMs: 300_000,
    payload: { tenant: 'a' },
    paused: true,
  });
  // @ts-expect-error a misspelled task name
  await ns.schedules.upsert({ id: 'r', task: 'invoice.sned', cron: '0 2 * * *', payload: { orderId: 42 } });
  // @ts-expect-error a payload of the wrong type
  await ns.schedules.upsert({ id: 'r', task: 'invoice.send', cron: '0 2 * * *', payload: { orderId: '42' } });
  // @ts-expect-error another task's payload
  await ns.schedules.upsert({ id: 't', task: 'tenant.sync', everyMs: 300_000, payload: { orderId: 42 } });
  // @ts-expect-error a name known only at run time, on the typed instance
  await ns.schedules.upsert({ id: 'd', task: dynamicName, everyMs: 300_000 });
}

export async function upsertMany(tenants: string[]): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice, tenantSync] });

  // Each item is checked against its own task.
  await ns.schedules.upsertMany([
    { id: 'reminder-42', task: 'invoice.send', cron: '0 2 * * *', payload: { orderId: 42 } },
    { id: 'tenant-a', task: 'tenant.sync', everyMs: 300_000, payload: { tenant: 'a' } },
  ]);
  // Thousands of per-tenant schedules, made by a map.
  await ns.schedules.upsertMany(
    tenants.map((tenant) => ({
      id: `tenant-${tenant}`,
      task: 'tenant.sync',
      everyMs: 300_000,
      payload: { tenant },
    })),
  );
  await ns.schedules.upsertMany([
    { id: 'reminder-42', task: 'invoice.send', cron: '0 2 * * *', payload: { orderId: 42 } },
    // @ts-expect-error one item of a mixed list carries another task's payload
    { id: 'tenant-a', task: 'tenant.sync', everyMs: 300_000, payload: { orderId: 42 } },
  ]);
  await ns.schedules.upsertMany([
    { id: 'tenant-a', task: 'tenant.sync', everyMs: 300_000, payload: { tenant: 'a' } },
    // @ts-expect-error one item of a mixed list names no registered task
    { id: 'tenant-b', task: 'tenant.snyc', everyMs: 300_000, payload: { tenant: 'b' } },
  ]);
  await ns.schedules.upsertMany(
    // @ts-expect-error a map making schedules with a payload of the wrong type
    tenants.map((tenant) => ({
      id: `tenant-${tenant}`,
      task: 'tenant.sync',
      everyMs: 300_000,
      payload: { tenant: 1 },
    })),
  );
}

export async function update(): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice, tenantSync] });

  await ns.schedules.update('tenant-a', { everyMs: 600_000, jitterMs: 1_000 });
  await ns.schedules.update('tenant-a', { task: 'invoice.send', payload: { orderId: 42 } });
  // A payload alone: the compiler does not know the stored schedule's task, only that it is registered.
  await ns.schedules.update('tenant-a', { payload: { tenant: 'b' } });
  // Naming the schedule's task as the type argument checks the payload against it.
  await ns.schedules.update<'tenant.sync'>('tenant-a', { payload: { tenant: 'b' } });
  // @ts-expect-error a payload no registered task takes
  await ns.schedules.update('tenant-a', { payload: { tenant: 1 } });
  // @ts-expect-error a payload of another task than the one the change names
  await ns.schedules.update('tenant-a', { task: 'tenant.sync', payload: { orderId: 42 } });
  // @ts-expect-error a payload of another task than the schedule's, stated as the type argument
  await ns.schedules.update<'tenant.sync'>('tenant-a', { payload: { orderId: 42 } });
  // @ts-expect-error a misspelled task name
  await ns.schedules.update('tenant-a', { task: 'tenant.snyc' });
  // Null empties the fields a schedule may keep empty; undefined leaves any field as it is.
  await ns.schedules.update('tenant-a', { queue: null, priority: null, maxConsecutiveFailures: null });
  await ns.untyped.schedules.update('tenant-a', {
    queue: null,
    priority: null,
    maxConsecutiveFailures: null,
  });
  await ns.schedules.update('tenant-a', { queue: undefined, jitterMs: undefined, payload: undefined });
  // @ts-expect-error a field with no empty value: null is not one of its values
  await ns.schedules.update('tenant-a', { jitterMs: null });
  // @ts-expect-error the task cannot be emptied
  await ns.untyped.schedules.update('tenant-a', { task: null });
}

export async function configSchedules(): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice, tenantSync] });

  const scheduler = ns.startScheduler({
    schedules: [
      { id: 'nightly', task: 'invoice.send', cron: '0 6 * * *', payload: { orderId: 1 } },
      { id: 'tenant-a', task: 'tenant.sync', everyMs: 300_000, payload: { tenant: 'a' } },
    ],
    pollIntervalMs: 1_000,
  });
  await scheduler.stop();
  ns.startScheduler({
    schedules: [
      { id: 'nightly', task: 'invoice.send', cron: '0 6 * * *', payload: { orderId: 1 } },
      // @ts-expect-error a config schedule with another task's payload
      { id: 'tenant-a', task: 'tenant.sync', everyMs: 300_000, payload: { orderId: 1 } },
    ],
  });
  await ns.schedules.sync([
    { id: 'nightly', task: 'invoice.send', cron: '0 6 * * *', payload: { orderId: 1 } },
  ]);
  // @ts-expect-error a synced schedule of an unknown task
  await ns.schedules.sync([{ id: 'nightly', task: 'invoice.sned', cron: '0 6 * * *' }]);
}

export async function untyped(dynamicName: string, inputs: ScheduleInput[]): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice, tenantSync] });

  // Names and payloads known only at run time go through the untyped view (checked at run time).
  await ns.untyped.schedules.create({ id: 'd', task: dynamicName, everyMs: 300_000, payload: 1 });
  await ns.untyped.schedules.upsert({ id: 'd', task: dynamicName, everyMs: 300_000, payload: { any: 1 } });
  await ns.untyped.schedules.upsertMany([
    { id: 'd', task: dynamicName, everyMs: 300_000, payload: { any: 1 } },
    { id: 't', task: 'tenant.sync', everyMs: 300_000, payload: { orderId: 42 } },
  ]);
  await ns.untyped.schedules.upsertMany(inputs);
  await ns.untyped.schedules.update('d', { task: dynamicName, payload: [1, 2] });
  ns.untyped.startScheduler({ schedules: inputs });
  // @ts-expect-error schedules typed as any ScheduleInput on the typed instance
  await ns.schedules.upsertMany(inputs);

  // A typed instance still fits where any Nightshift is expected.
  const instances: Nightshift[] = [ns];
  void instances;
}

export async function withHttpJobs(): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [tenantSync], httpJobs: { allowHosts: ['*.example'] } });

  await ns.schedules.upsert({
    id: 'ping-a',
    task: 'http.request',
    everyMs: 300_000,
    payload: { url: 'https://a.example/ping', method: 'POST' },
  });
  await ns.schedules.upsertMany([
    { id: 'ping-b', task: 'http.request', everyMs: 300_000, payload: { url: 'https://b.example/ping' } },
    // @ts-expect-error an http.request schedule without its url
    { id: 'ping-c', task: 'http.request', everyMs: 300_000, payload: { method: 'GET' } },
  ]);
}
