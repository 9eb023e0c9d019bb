/**
 * `nightshift schedules list|show|trigger|pause|resume|create|delete`: recurring schedules from a
 * shell. Output follows the jobs commands: aligned tables, or one JSON document with `--json`.
 */
import type { Command } from 'commander';
import { NightshiftError } from '../../errors.js';
import {
  SCHEDULE_CONDITIONS,
  type Schedule,
  type ScheduleCondition,
  type ScheduleInput,
} from '../../schedule-types.js';
import { scheduleListParams, type ScheduleListOptions } from '../../scheduler/schedule-list.js';
import { scheduleCondition, scheduleNotFound } from '../../scheduler/schedule.js';
import { SCHEDULE_RANGES, scheduleIdIn, validateSchedule } from '../../scheduler/validate.js';
import { MAX_PAGE, type Range } from '../../validation/bounds.js';
import type { TaskRegistry } from '../../task-registry.js';
import { nonEmpty, PAGE_RANGE, parseInteger, parseJson, usageError } from '../arguments.js';
import { optionNamed } from '../flag-words.js';
import {
  DEFAULT_LIST_LIMIT,
  nextPageLine,
  printJson,
  renderTable,
  scheduleJson,
  shortJson,
  shortTime,
  slotJson,
} from '../output.js';
import { typedCommonFlags, withCommonOptions, withSession, type CommonOptions } from '../session.js';

function timing(s: Schedule): string {
  return s.cron !== null ? `${s.cron} (${s.timezone})` : `every ${s.everyMs ?? 0} ms`;
}

/**
 * A schedule id as typed: empty is a usage error, and so is an id no schedule can have (`show 'bad
 * id!'` answered "not found", exit 1, as though such a schedule might exist).
 */
function scheduleIdArgument(value: string): string {
  return scheduleIdIn(nonEmpty('schedule id')(value));
}

function parseCondition(flag: string, value: string): ScheduleCondition {
  const known: readonly string[] = SCHEDULE_CONDITIONS;
  if (!known.includes(value)) throw usageError(`${flag} must be one of ${known.join(', ')}, got "${value}"`);
  return value as ScheduleCondition;
}

/**
 * Checks a schedule as `ns.schedules.create` will (its definition, then its payload against the
 * task's schema) before the command connects: bad input must neither create nor change a database.
 */
async function checkSchedule(registry: TaskRegistry, input: ScheduleInput): Promise<void> {
  const definition = validateSchedule(input, 'api', (task) => registry.get(task) !== undefined);
  const { buildNewJob } = await import('../../enqueue.js');
  await buildNewJob(registry, definition.task, definition.payload, {
    ...(definition.queue !== null && { queue: definition.queue }),
  });
}

/**
 * How many next slots or ledger rows `schedules show` prints at most, as a listing's page: each next
 * slot is computed, and 99,999,999 of them took 15 s and 225 MB before printing anything.
 */
const SHOWN_SLOTS: Range = [0, PAGE_RANGE[1]];

interface ListFlags extends CommonOptions {
  task?: string;
  state?: ScheduleCondition;
  prefix?: string;
  limit: number;
  cursor?: string;
}

interface CreateFlags extends CommonOptions {
  task: string;
  cron?: string;
  every?: number;
  timezone?: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  jitter?: number;
  overlap?: string;
  catchUp?: string;
  catchUpLimit?: number;
  maxFailures?: number;
  paused?: boolean;
}

/** Registers `schedules` and its subcommands. */
export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('list, inspect, trigger, pause and resume recurring schedules');
  const int = (flag: string, range: Range) => (v: string) => parseInteger(flag, v, range);

  const list = withCommonOptions(
    schedules
      .command('list')
      .description('list schedules by id')
      .option('--task <name>', 'only schedules of this task')
      .option('--state <state>', 'active, paused or suspended', (v) => parseCondition('--state', v))
      .option('--prefix <text>', 'only ids starting with this text')
      .option(
        '--limit <n>',
        `schedules per page (1-${MAX_PAGE})`,
        int('--limit', PAGE_RANGE),
        DEFAULT_LIST_LIMIT,
      )
      .option('--cursor <cursor>', 'continue after a previous page (its nextCursor)'),
  );
  optionNamed(list, { '--prefix': 'idPrefix' }).action(async (flags: ListFlags, command: Command) => {
    await withSession(flags, async (session) => {
      const options: ScheduleListOptions = {
        limit: flags.limit,
        ...(flags.task !== undefined && { task: flags.task }),
        ...(flags.state !== undefined && { state: flags.state }),
        ...(flags.prefix !== undefined && { idPrefix: flags.prefix }),
        ...(flags.cursor !== undefined && { cursor: flags.cursor }),
      };
      // Checked before the database opens: a bad filter is the error even where there is no database.
      scheduleListParams(options);
      const ns = await session.connect();
      const page = await ns.schedules.list(options);
      if (session.json) {
        printJson(session.stdout, {
          schedules: page.schedules.map(scheduleJson),
          nextCursor: page.nextCursor,
        });
        return;
      }
      session.stdout.write(
        renderTable(
          ['ID', 'TASK', 'WHEN', 'STATE', 'NEXT SLOT', 'LAST RUN ENDED', 'LAST OUTCOME', 'FAILURES'],
          page.schedules.map((s) => [
            s.id,
            s.task,
            timing(s),
            scheduleCondition(s),
            shortTime(nextRunSlot(s)),
            shortTime(s.lastFinishedAt),
            s.lastOutcome,
            s.consecutiveFailures,
          ]),
        ),
      );
      if (page.nextCursor !== null)
        session.stdout.write(
          nextPageLine(
            'schedules list',
            { limit: flags.limit, cursor: page.nextCursor },
            {
              ...typedCommonFlags(command),
              '--task': flags.task,
              '--state': flags.state,
              '--prefix': flags.prefix,
            },
          ),
        );
    });
  });

  withCommonOptions(
    schedules
      .command('show')
      .description('show a schedule: state, next slots, and its recent slot ledger')
      .argument('<id>', 'schedule id', scheduleIdArgument)
      .option('--next <n>', 'next slots to show (0-1000)', int('--next', SHOWN_SLOTS), 5)
      .option('--slots <n>', 'ledger rows to show (0-1000)', int('--slots', SHOWN_SLOTS), 20),
  ).action(async (id: string, flags: CommonOptions & { next: number; slots: number }) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      const details = await ns.schedules.get(id, { nextSlots: flags.next, recentSlots: flags.slots });
      if (details === undefined) throw scheduleNotFound(id);
      const { schedule: s, nextSlots, recentSlots } = details;
      if (session.json) {
        printJson(session.stdout, {
          schedule: scheduleJson(s),
          nextSlots: nextSlots.map((d) => d.toISOString()),
          recentSlots: recentSlots.map(slotJson),
        });
        return;
      }
      const fields: Array<[string, string | number | null]> = [
        ['id', s.id],
        ['task', s.task],
        ['when', timing(s)],
        ['state', scheduleCondition(s)],
        ['source', s.source],
        ['overlap', s.overlap],
        ['catch-up', s.catchUp === 'all' ? `all (limit ${s.catchUpLimit})` : s.catchUp],
        ['payload', shortJson(s.payload, 80)],
        ['last slot written', shortTime(s.lastSlotAt)],
        ['last run started', shortTime(s.lastStartedAt)],
        ['last run ended', shortTime(s.lastFinishedAt)],
        ['last outcome', s.lastOutcome],
        ['last duration', s.lastDurationMs === null ? null : `${s.lastDurationMs} ms`],
        ['last run lag', s.lastRunLagMs === null ? null : `${s.lastRunLagMs} ms`],
        [
          'failures',
          `${s.consecutiveFailures}${s.maxConsecutiveFailures === null ? '' : ` of ${s.maxConsecutiveFailures}`}`,
        ],
        ['suspended', s.suspendedReason],
        ['last error', s.lastError?.message ?? null],
      ];
      const width = Math.max(...fields.map(([name]) => name.length));
      const lines = fields.filter(([, v]) => v !== null).map(([name, v]) => `${name.padEnd(width)}  ${v}`);
      session.stdout.write(lines.join('\n') + '\n');
      session.stdout.write(`\nnext slots:\n${nextSlots.map((d) => `  ${d.toISOString()}\n`).join('')}`);
      session.stdout.write(
        '\nrecent slots:\n' +
          renderTable(
            ['SLOT', 'KIND', 'STATUS', 'JOB', 'OUTCOME', 'LAG', 'REASON'],
            recentSlots.map((r) => [
              r.slotCount !== null && r.slotCount > 1
                ? `${shortTime(r.slotAt)} (+${r.slotCount - 1})`
                : shortTime(r.slotAt),
              r.kind,
              r.status,
              r.jobId,
              r.outcome,
              r.runLagMs === null ? null : `${r.runLagMs} ms`,
              r.reason,
            ]),
          ),
      );
    });
  });

  withCommonOptions(
    schedules
      .command('trigger')
      .description('run a schedule now, under its overlap policy; prints the job id')
      .argument('<id>', 'schedule id', scheduleIdArgument),
  ).action(async (id: string, flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      // The job gets its task's defaults (queue, attempts) only from a config that declares the task.
      const schedule = await ns.store.scheduleGet({ id });
      if (schedule !== undefined) await session.requireDeclaredTask(schedule.task);
      const outcome = await ns.schedules.trigger(id);
      // A skipped trigger did not do what was asked: an error (exit 1, the error once on stderr, as
      // JSON with --json), as the REST API's 409; nothing on stdout.
      if (outcome.status === 'skipped')
        throw new NightshiftError('conflict', `trigger skipped: ${outcome.reason}`);
      if (session.json) printJson(session.stdout, outcome);
      else if (outcome.status === 'enqueued') session.stdout.write(`${outcome.jobId}\n`);
      else session.stdout.write(`${outcome.status}: ${outcome.reason}\n`);
    });
  });

  for (const [name, description] of [
    ['pause', 'stop running a schedule until it is resumed'],
    ['resume', 'resume a paused or suspended schedule from its next slot'],
  ] as const) {
    withCommonOptions(
      schedules.command(name).description(description).argument('<id>', 'schedule id', scheduleIdArgument),
    ).action(async (id: string, flags: CommonOptions) => {
      await withSession(flags, async (session) => {
        const ns = await session.connect();
        const s = name === 'pause' ? await ns.schedules.pause(id) : await ns.schedules.resume(id);
        if (session.json) printJson(session.stdout, { schedule: scheduleJson(s) });
        else session.stdout.write(`schedule ${id} ${name === 'pause' ? 'paused' : 'resumed'}\n`);
      });
    });
  }

  withCommonOptions(
    schedules
      .command('create')
      .description('create a schedule (kept across config syncs)')
      .argument('<id>', 'schedule id', scheduleIdArgument)
      .requiredOption('--task <name>', 'task to run')
      .option('--cron <expr>', 'cron expression: 5 fields, or 6 with seconds first')
      .option(
        '--every <ms>',
        'fixed interval in ms (instead of --cron)',
        int('--every', SCHEDULE_RANGES.everyMs),
      )
      .option('--timezone <zone>', 'IANA time zone for --cron (default UTC)')
      .option('--payload <json>', 'payload as JSON', (v) => parseJson('--payload', v))
      .option('--queue <name>', 'queue (default: the task’s)')
      .option('--priority <n>', 'priority', int('--priority', SCHEDULE_RANGES.priority))
      .option(
        '--jitter <ms>',
        'spread each slot’s job over this many ms',
        int('--jitter', SCHEDULE_RANGES.jitterMs),
      )
      .option('--overlap <policy>', 'skip, queue or allow (default skip)')
      .option('--catch-up <policy>', 'skip, latest or all (default latest)')
      .option(
        '--catch-up-limit <n>',
        'most missed slots catch-up all runs',
        int('--catch-up-limit', SCHEDULE_RANGES.catchUpLimit),
      )
      .option(
        '--max-failures <n>',
        'suspend after this many consecutive failed runs',
        int('--max-failures', SCHEDULE_RANGES.maxConsecutiveFailures),
      )
      .option('--paused', 'create it paused'),
  ).action(async (id: string, flags: CreateFlags) => {
    if ((flags.cron === undefined) === (flags.every === undefined))
      throw usageError('give exactly one of --cron and --every');
    const input: ScheduleInput = { id, task: flags.task };
    if (flags.cron !== undefined) input.cron = flags.cron;
    if (flags.every !== undefined) input.everyMs = flags.every;
    if (flags.timezone !== undefined) input.timezone = flags.timezone;
    if (flags.payload !== undefined) input.payload = flags.payload;
    if (flags.queue !== undefined) input.queue = flags.queue;
    if (flags.priority !== undefined) input.priority = flags.priority;
    if (flags.jitter !== undefined) input.jitterMs = flags.jitter;
    if (flags.overlap !== undefined) input.overlap = flags.overlap as ScheduleInput['overlap'] & string;
    if (flags.catchUp !== undefined) input.catchUp = flags.catchUp as ScheduleInput['catchUp'] & string;
    if (flags.catchUpLimit !== undefined) input.catchUpLimit = flags.catchUpLimit;
    if (flags.maxFailures !== undefined) input.maxConsecutiveFailures = flags.maxFailures;
    if (flags.paused === true) input.paused = true;
    await withSession(flags, async (session) => {
      await checkSchedule(await session.registry(), input);
      const ns = await session.connect();
      const s = await ns.schedules.create(input);
      if (session.json) printJson(session.stdout, { schedule: scheduleJson(s) });
      else session.stdout.write(`schedule ${s.id} created; next slot ${shortTime(s.nextSlotAt) ?? 'none'}\n`);
    });
  });

  withCommonOptions(
    schedules
      .command('delete')
      .description('delete a schedule and its slot ledger (its jobs are kept)')
      .argument('<id>', 'schedule id', scheduleIdArgument),
  ).action(async (id: string, flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      if (!(await ns.schedules.delete(id))) throw scheduleNotFound(id);
      if (session.json) printJson(session.stdout, { deleted: id });
      else session.stdout.write(`schedule ${id} deleted\n`);
    });
  });
}

/**
 * The slot of the schedule's next run: one whose job the scheduler wrote ahead of it (its last slot,
 * still in the future), else `nextSlotAt`. The last run is the last one that finished (`lastFinishedAt`,
 * `lastOutcome`), not the last slot written, which may not have run yet.
 */
function nextRunSlot(s: Schedule): Date | null {
  return s.lastSlotAt !== null && s.lastSlotAt.getTime() > Date.now() ? s.lastSlotAt : s.nextSlotAt;
}
