/**
 * `nightshift limits`: the tenancy controls in force (docs/TENANCY.md): queues with a cluster-wide
 * limit or rate, concurrency keys with their running counts and limits, groups with their weights,
 * each as `ns.queueLimits()`, `ns.concurrencyKeys()` and `ns.groups()` read them. Keys and groups are
 * the first `--limit` by name (`--running`: only those with running jobs). `--json` prints
 * `{ "queues", "keys", "groups" }`, the objects the REST API's limit lists answer.
 */
import type { Command } from 'commander';
import type { StartRate } from '../../store/store.js';
import { MAX_KEYS_PAGE } from '../../validation/bounds.js';
import { parseInteger } from '../arguments.js';
import { duration, printJson, renderTable } from '../output.js';
import { withCommonOptions, withSession, type CommonOptions } from '../session.js';

const DEFAULT_ROWS = 100;

interface LimitsFlags extends CommonOptions {
  running?: boolean;
  limit: number;
}

/** Registers `limits`. */
export function registerLimits(program: Command): void {
  withCommonOptions(
    program
      .command('limits')
      .description('queue limits and rates, concurrency keys and groups: running counts, limits, weights')
      .option('--running', 'only keys and groups with running jobs')
      .option(
        '--limit <n>',
        `keys and groups listed at most, by name (1-${MAX_KEYS_PAGE})`,
        (v) => parseInteger('--limit', v, [1, MAX_KEYS_PAGE]),
        DEFAULT_ROWS,
      ),
  ).action(async (flags: LimitsFlags) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      // One more than shown: whether more follow.
      const page = {
        limit: Math.min(flags.limit + 1, MAX_KEYS_PAGE),
        ...(flags.running && { running: true }),
      };
      const [queues, keyPage, groupPage] = await Promise.all([
        ns.queueLimits(),
        ns.concurrencyKeys(page),
        ns.groups(page),
      ]);
      const keys = keyPage.slice(0, flags.limit);
      const groups = groupPage.slice(0, flags.limit);
      if (session.json) {
        printJson(session.stdout, { queues, keys, groups });
        return;
      }
      const section = (title: string, table: string | null, more: boolean): string =>
        `${title}\n${table ?? 'none\n'}${more ? `more: raise --limit (it was ${flags.limit})\n` : ''}`;
      session.stdout.write(
        [
          section(
            'QUEUES',
            queues.length === 0
              ? null
              : renderTable(
                  ['QUEUE', 'RUNNING', 'LIMIT', 'RATE'],
                  queues.map((q) => [q.queue, q.running, q.limit, rateText(q.rate)]),
                ),
            false,
          ),
          section(
            'KEYS',
            keys.length === 0
              ? null
              : renderTable(
                  ['KEY', 'RUNNING', 'LIMIT', 'OPERATOR LIMIT', 'RATE'],
                  keys.map((k) => [k.key, k.running, k.limit, k.operatorLimit, rateText(k.rate)]),
                ),
            keyPage.length > flags.limit,
          ),
          section(
            'GROUPS',
            groups.length === 0
              ? null
              : renderTable(
                  ['GROUP', 'WEIGHT', 'QUEUED', 'RUNNING'],
                  groups.map((g) => [g.group, g.weight, g.queued, g.running]),
                ),
            groupPage.length > flags.limit,
          ),
        ].join('\n'),
      );
    });
  });
}

/** `10/1s`: at most 10 starts a second; null (shown `-`) for none. */
function rateText(rate: StartRate | null): string | null {
  return rate === null ? null : `${rate.limit}/${duration(rate.periodMs)}`;
}
