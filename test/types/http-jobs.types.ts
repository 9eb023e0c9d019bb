/**
 * Compile-time tests of the built-in `http.request` task's types: checked by `npm run typecheck` (tsc
 * over test/), never run. Each `@ts-expect-error` line must fail to compile (tsc reports an unused
 * directive otherwise), and every other line must compile.
 */
import { expectTypeOf } from 'vitest';
import { z } from 'zod';
import {
  Nightshift,
  defineContract,
  type ConnectOptions,
  type HttpJobsOptions,
  type HttpRequestPayload,
  type HttpRequestResult,
  type JobId,
} from '../../src/index.js';

const sendInvoice = defineContract('invoice.send', { payload: z.object({ orderId: z.number() }) });
const httpJobs: HttpJobsOptions = { allowHosts: ['api.billing.example'] };

export async function withHttpJobs(): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice], httpJobs });

  const { id, job } = await ns.enqueue('http.request', {
    url: 'https://api.billing.example/v1/invoices/42/send',
    method: 'POST',
    headers: { Authorization: { secret: 'billing-token', format: 'Bearer {}' }, 'X-Tenant': 'x' },
    json: { invoice: 42 },
    expectStatus: ['2xx', 409],
  });
  await ns.enqueue('http.request', { url: 'https://api.billing.example/v1/ping' }, { maxAttempts: 3 });
  expectTypeOf(id).toEqualTypeOf<JobId<'http.request'>>();
  expectTypeOf(job.payload).toEqualTypeOf<HttpRequestPayload>();
  expectTypeOf((await ns.waitFor(id)).result).toEqualTypeOf<HttpRequestResult | null>();
  // @ts-expect-error a method that is not a string
  await ns.enqueue('http.request', { url: 'https://api.billing.example/', method: 42 });
  // @ts-expect-error a method HTTP jobs do not send
  await ns.enqueue('http.request', { url: 'https://api.billing.example/', method: 'TRACE' });
  // @ts-expect-error the url is required
  await ns.enqueue('http.request', { method: 'GET' });
  // @ts-expect-error the payload is required
  await ns.enqueue('http.request');
  // @ts-expect-error a field the payload does not have
  await ns.enqueue('http.request', { url: 'https://api.billing.example/', retries: 3 });
  // @ts-expect-error a secret header without its name
  await ns.enqueue('http.request', { url: 'https://api.billing.example/', headers: { A: { format: '{}' } } });

  await ns.enqueueMany([
    { task: 'http.request', payload: { url: 'https://api.billing.example/v1/a' } },
    { task: 'invoice.send', payload: { orderId: 1 } },
  ]);
  // @ts-expect-error an enqueueMany item with another task's payload
  await ns.enqueueMany([{ task: 'http.request', payload: { orderId: 1 } }]);

  await ns.schedules.create({
    id: 'ping-tenant-x',
    task: 'http.request',
    everyMs: 300_000,
    payload: { url: 'https://x.tenants.example/v1/ping', method: 'POST' },
  });
  // @ts-expect-error a schedule whose payload has no url
  await ns.schedules.create({ id: 'p', task: 'http.request', everyMs: 1_000, payload: { method: 'GET' } });

  // The registered tasks keep their types beside it.
  await ns.enqueue('invoice.send', { orderId: 1 });
  // @ts-expect-error a payload of the wrong type for a contract
  await ns.enqueue('invoice.send', { orderId: 'x' });

  const other = await ns.getJob('0193a0b0-0000-7000-8000-000000000000');
  if (other?.task === 'http.request') expectTypeOf(other.result).toEqualTypeOf<HttpRequestResult | null>();

  // The options keep their own checks: a misspelt setting is an error.
  // @ts-expect-error allowHost for allowHosts
  await Nightshift.connect({ httpJobs: { allowHost: ['api.billing.example'] } });
  // @ts-expect-error a setting httpJobs does not have
  await Nightshift.connect({ httpJobs: { allowHosts: [], maxResponseByte: 10 } });

  // Alone, and with a tasks map.
  const alone = await Nightshift.connect({ httpJobs: { allowHosts: ['*'] } });
  await alone.enqueue('http.request', { url: 'https://example.com/' });
  // @ts-expect-error nothing else is registered
  await alone.enqueue('invoice.send', { orderId: 1 });
  const withTasks = await Nightshift.connect({ tasks: { 'cache.warm': () => 3 }, httpJobs });
  await withTasks.enqueue('cache.warm');
  await withTasks.enqueue('http.request', { url: 'https://api.billing.example/', method: 'DELETE' });

  // A typed instance still fits where any Nightshift is expected.
  const instances: Nightshift[] = [ns, alone, withTasks];
  void instances;
}

export async function withoutHttpJobs(options: ConnectOptions): Promise<void> {
  const ns = await Nightshift.connect({ contracts: [sendInvoice] });
  // @ts-expect-error http.request is not a task of an instance without httpJobs
  await ns.enqueue('http.request', { url: 'https://api.billing.example/' });
  // @ts-expect-error nor a schedule's
  await ns.schedules.create({ id: 'p', task: 'http.request', everyMs: 1_000, payload: { url: 'x' } });
  // @ts-expect-error nor an enqueueMany item's
  await ns.enqueueMany([{ task: 'http.request', payload: { url: 'https://api.billing.example/' } }]);
  const nothing = await Nightshift.connect();
  // @ts-expect-error nor of an instance without any task
  await nothing.enqueue('http.request', { url: 'https://api.billing.example/' });
  // Through the untyped view, it is a name like any other (refused at run time without httpJobs).
  await ns.untyped.enqueue('http.request', { url: 'https://api.billing.example/' });

  // Options of the general type still give the view of any name, any payload.
  const general = await Nightshift.connect(options);
  await general.enqueue('some.task', { anything: true });
  const instances: Nightshift[] = [general, ns, nothing];
  void instances;
}
