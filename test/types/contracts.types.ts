/**
 * Compile-time tests of task contracts: checked by `npm run typecheck` (tsc over test/), never run.
 * Each `@ts-expect-error` line must fail to compile (tsc reports an unused directive otherwise), and
 * every other line must compile.
 */
import { expectTypeOf } from 'vitest';
import { z } from 'zod';
import {
  Nightshift,
  contractJsonSchema,
  defineConfig,
  defineContract,
  defineTask,
  implement,
  type Job,
  type JobId,
} from '../../src/index.js';

const sendInvoice = defineContract('invoice.send', {
  payload: z.object({ orderId: z.number(), copies: z.number().int().default(1) }),
  result: z.object({ sent: z.boolean() }),
  maxAttempts: 3,
});
const tenantReport = defineContract('tenant.report', { payload: z.object({ tenant: z.string() }) });

export async function producer(dynamicName: string): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice, tenantReport] });

  await ns.enqueue('invoice.send', { orderId: 1 }, { priority: 2 });
  await ns.enqueue('invoice.send', { orderId: 1, copies: 2 });
  // @ts-expect-error a misspelled task name
  await ns.enqueue('invoice.sned', { orderId: 1 });
  // @ts-expect-error a payload of the wrong type
  await ns.enqueue('invoice.send', { orderId: 'x' });
  // @ts-expect-error the payload is required
  await ns.enqueue('invoice.send');
  // @ts-expect-error another task's payload
  await ns.enqueue('tenant.report', { orderId: 1 });

  await ns.enqueueMany([
    { task: 'invoice.send', payload: { orderId: 1 } },
    { task: 'tenant.report', payload: { tenant: 'acme' }, options: { queue: 'reports' } },
  ]);
  // @ts-expect-error an enqueueMany item with another task's payload
  await ns.enqueueMany([{ task: 'tenant.report', payload: { orderId: 1 } }]);
  // @ts-expect-error an enqueueMany item of an unknown task
  await ns.enqueueMany([{ task: 'tenant.reprot', payload: { tenant: 'acme' } }]);

  // The id remembers its task: waitFor and getJob know the result type.
  const { id, job } = await ns.enqueue('invoice.send', { orderId: 1 });
  expectTypeOf(id).toEqualTypeOf<JobId<'invoice.send'>>();
  expectTypeOf(job.payload).toEqualTypeOf<{ orderId: number; copies: number }>();
  const done = await ns.waitFor(id, { timeoutMs: 1_000 });
  expectTypeOf(done.result).toEqualTypeOf<{ sent: boolean } | null>();
  // @ts-expect-error a wrong use of the result: the result schema has no "count"
  console.log(done.result?.count);
  // @ts-expect-error a wrong use of the result: "sent" is a boolean
  const sent: string | undefined = done.result?.sent;
  void sent;
  const fetched = await ns.getJob(id);
  expectTypeOf(fetched).toEqualTypeOf<
    (Job<{ orderId: number; copies: number }, { sent: boolean }> & { task: 'invoice.send' }) | undefined
  >();

  // A plain string id gives a job of any registered task, narrowed on its name.
  const other = await ns.getJob('0193a0b0-0000-7000-8000-000000000000');
  if (other?.task === 'invoice.send') expectTypeOf(other.result).toEqualTypeOf<{ sent: boolean } | null>();
  if (other?.task === 'tenant.report') expectTypeOf(other.payload).toEqualTypeOf<{ tenant: string }>();

  await ns.schedules.create({ id: 'r', task: 'tenant.report', cron: '0 6 * * *', payload: { tenant: 'a' } });
  // @ts-expect-error a schedule of an unknown task
  await ns.schedules.create({ id: 'r', task: 'tenant.reprot', cron: '0 6 * * *' });
  // @ts-expect-error a schedule with a payload of the wrong type
  await ns.schedules.create({ id: 'r', task: 'tenant.report', cron: '0 6 * * *', payload: { tenant: 1 } });

  // Dynamic names go through the explicit untyped view (still checked at run time).
  await ns.untyped.enqueue(dynamicName, { anything: true });
  // @ts-expect-error a dynamic name on the typed instance
  await ns.enqueue(dynamicName, {});

  // A typed instance still fits where any Nightshift is expected.
  const instances: Nightshift[] = [ns];
  void instances;

  expectTypeOf(contractJsonSchema(sendInvoice)).toEqualTypeOf<Record<string, unknown> | undefined>();
}

export async function producerWithContractObject(): Promise<void> {
  // An object of contracts, as `import * as contracts from './contracts.js'` gives: keys are ignored.
  const ns = await Nightshift.connect({ contracts: { sendInvoice, tenantReport } });
  await ns.enqueue('tenant.report', { tenant: 'acme' });
  // @ts-expect-error the object's keys are not task names
  await ns.enqueue('tenantReport', { tenant: 'acme' });
}

export function config(): void {
  defineConfig({ contracts: [sendInvoice], implementations: [implement(tenantReport, () => null)] });
  // @ts-expect-error contracts must be defineContract results
  defineConfig({ contracts: [{ name: 'invoice.send' }] });
  // A queue's job defaults take the payload as the queue's tasks carry it, and the task's name.
  defineConfig({
    contracts: [tenantReport],
    queues: {
      reports: {
        concurrencyKey: (p: { tenant: string }, task) => `${task}:${p.tenant}`,
        concurrencyLimit: 2,
        group: (p: { tenant: string }) => p.tenant,
      },
    },
  });
  // @ts-expect-error a queue's key default is a function, not a fixed key
  defineConfig({ contracts: [tenantReport], queues: { reports: { concurrencyKey: 'tenant' } } });
  // @ts-expect-error a queue's group function returns a string, null or undefined
  defineConfig({ contracts: [tenantReport], queues: { reports: { group: () => 7 } } });
}

export async function worker(): Promise<void> {
  const sending = implement(sendInvoice, ({ orderId, copies }) => {
    expectTypeOf(orderId).toEqualTypeOf<number>();
    expectTypeOf(copies).toEqualTypeOf<number>();
    return Promise.resolve({ sent: true });
  });
  // @ts-expect-error the handler's result does not match the result schema
  implement(sendInvoice, () => Promise.resolve({ sent: 'yes' }));
  // @ts-expect-error the payload has no "tenant"
  implement(sendInvoice, (payload) => payload.tenant === 'acme');
  const reporting = implement(tenantReport, ({ tenant }) => ({ rows: tenant.length }));

  const ns = await Nightshift.connect({ implementations: [sending, reporting] });
  const { id } = await ns.enqueue('tenant.report', { tenant: 'acme' });
  // Without a result schema, the result type is the handler's return type.
  expectTypeOf((await ns.waitFor(id)).result).toEqualTypeOf<{ rows: number } | null>();
  // @ts-expect-error implementations register their contracts' names only
  await ns.enqueue('cache.warm');
}

export async function oneFileTasks(): Promise<void> {
  const ns = await Nightshift.connect({
    tasks: {
      'cache.warm': () => Promise.resolve(3),
      double: defineTask({
        schema: z.object({ n: z.number().default(1) }),
        handler: ({ n }, ctx) => {
          expectTypeOf(ctx.job.id).toEqualTypeOf<string>();
          return n * 2;
        },
      }),
    },
  });
  await ns.enqueue('cache.warm');
  await ns.enqueue('double', {});
  // @ts-expect-error a defineTask payload of the wrong type
  await ns.enqueue('double', { n: 'two' });
  // @ts-expect-error a task the map does not hold
  await ns.enqueue('triple', { n: 1 });
  const { id } = await ns.enqueue('double', { n: 2 });
  expectTypeOf((await ns.waitFor(id)).result).toEqualTypeOf<number | null>();
}
