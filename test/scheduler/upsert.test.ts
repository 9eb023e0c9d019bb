/**
 * `ns.schedules.upsert` / `upsertMany` and the filtered, paged `ns.schedules.list`, through the library
 * on both backends: a program may declare its schedules at every start (idempotent), thousands of
 * per-tenant schedules sync in one call, and an operator pages through one tenant's schedules.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import type { ScheduleInput } from '../../src/schedule-types.js';
import { BACKENDS } from './fixture.js';

describe.each(BACKENDS)('schedule upserts and listing on $name', ({ harness }) => {
  const open: Nightshift[] = [];
  afterEach(async () => {
    for (const ns of open.splice(0)) await ns.close();
    await harness.close();
  });

  async function connect(): Promise<Nightshift> {
    const ns = await Nightshift.connect({
      db: await harness.open(),
      logger: createLogger({ level: 'silent' }),
      tasks: { 'invoice.send': () => 'sent', 'tenant.sync': () => 'synced' },
    });
    open.push(ns);
    return ns;
  }

  it('upsert creates, then changes nothing when run again, then updates keeping state and ledger', async () => {
    const ns = await connect();
    // The README's example, run twice as a program restarting would.
    const reminder = { id: 'reminder-42', task: 'invoice.send', cron: '0 2 * * *', payload: { orderId: 42 } };
    const created = await ns.schedules.upsert(reminder);
    expect(created.outcome).toBe('created');
    const again = await ns.schedules.upsert(reminder);
    expect(again).toEqual({ schedule: created.schedule, outcome: 'unchanged' });

    const triggered = await ns.schedules.trigger('reminder-42');
    expect(triggered.status).toBe('enqueued');
    await ns.schedules.pause('reminder-42');
    const before = (await ns.schedules.get('reminder-42'))!;

    // `paused: false` applies on creation only: the schedule an operator paused stays paused.
    const changed = await ns.schedules.upsert({ ...reminder, payload: { orderId: 43 }, paused: false });
    expect(changed.outcome).toBe('updated');
    expect(changed.schedule).toMatchObject({
      payload: { orderId: 43 },
      paused: true,
      lastJobId: before.schedule.lastJobId,
      nextSlotAt: before.schedule.nextSlotAt,
      version: before.schedule.version + 1,
    });
    expect((await ns.schedules.get('reminder-42'))!.recentSlots).toEqual(before.recentSlots);
  });

  it('upsertMany syncs thousands of per-tenant schedules in one call, idempotently, or none of them', async () => {
    const ns = await connect();
    const tenants = (payload: (i: number) => unknown): ScheduleInput[] =>
      Array.from({ length: 2_000 }, (_, i) => ({
        id: `tenant-${String(i).padStart(4, '0')}:sync`,
        task: 'tenant.sync',
        everyMs: 3_600_000,
        payload: payload(i),
      }));

    const first = await ns.schedules.upsertMany(tenants((i) => ({ tenant: i })));
    expect(first.created).toHaveLength(2_000);
    expect(await ns.schedules.upsertMany(tenants((i) => ({ tenant: i })))).toEqual({
      created: [],
      updated: [],
      unchanged: first.created,
    });
    const moved = await ns.schedules.upsertMany(
      tenants((i) => ({ tenant: i, region: i < 3 ? 'eu' : undefined })),
    );
    expect(moved.updated).toEqual(['tenant-0000:sync', 'tenant-0001:sync', 'tenant-0002:sync']);
    expect(moved.unchanged).toHaveLength(1_997);

    // One bad input (an unknown task) and nothing is written, not even the new schedule before it.
    await expect(
      ns.schedules.upsertMany([
        { id: 'tenant-9999:sync', task: 'tenant.sync', everyMs: 60_000 },
        { id: 'tenant-0000:sync', task: 'no.such.task', everyMs: 60_000 },
      ]),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringContaining('no.such.task') as string,
    });
    expect(await ns.schedules.get('tenant-9999:sync')).toBeUndefined();
    await expect(
      ns.schedules.upsertMany([
        { id: 'twice', task: 'tenant.sync', everyMs: 60_000 },
        { id: 'twice', task: 'tenant.sync', everyMs: 60_000 },
      ]),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringContaining('declared twice') as string,
    });

    // A config schedule belongs to the config: an upsert of its id is a conflict.
    await ns.schedules.sync([{ id: 'nightly', task: 'invoice.send', cron: '0 6 * * *' }]);
    await expect(
      ns.schedules.upsert({ id: 'nightly', task: 'invoice.send', cron: '0 7 * * *' }),
    ).rejects.toMatchObject({ code: 'conflict' });
    // So is an update, which the next sync would undo; pausing it is an operator's action and stays.
    await expect(ns.schedules.update('nightly', { cron: '0 7 * * *' })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('declared in the config') as string,
    });
    expect((await ns.schedules.get('nightly'))?.schedule.cron).toBe('0 6 * * *');
    expect((await ns.schedules.pause('nightly')).paused).toBe(true);
  });

  it('list filters by task, state and id prefix, and pages with nextCursor', async () => {
    const ns = await connect();
    await ns.schedules.upsertMany([
      ...Array.from({ length: 5 }, (_, i) => ({ id: `acme:${i}`, task: 'tenant.sync', everyMs: 60_000 })),
      { id: 'acme:paused', task: 'tenant.sync', everyMs: 60_000, paused: true },
      { id: 'globex:0', task: 'tenant.sync', everyMs: 60_000 },
      { id: 'invoices', task: 'invoice.send', cron: '0 2 * * *' },
    ]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { schedules: Array<{ id: string }>; nextCursor: string | null } = await ns.schedules.list({
        idPrefix: 'acme:',
        state: 'active',
        limit: 2,
        ...(cursor !== null && { cursor }),
      });
      expect(page.schedules.length).toBeLessThanOrEqual(2);
      seen.push(...page.schedules.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['acme:0', 'acme:1', 'acme:2', 'acme:3', 'acme:4']);

    expect((await ns.schedules.list({ state: 'paused' })).schedules.map((s) => s.id)).toEqual([
      'acme:paused',
    ]);
    expect((await ns.schedules.list({ task: 'invoice.send' })).schedules.map((s) => s.id)).toEqual([
      'invoices',
    ]);
    const all = await ns.schedules.list();
    expect(all).toMatchObject({ nextCursor: null });
    expect(all.schedules).toHaveLength(8);

    await expect(ns.schedules.list({ cursor: 'not a cursor!' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(ns.schedules.list({ state: 'sleeping' as never })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(ns.schedules.list({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
