/** `nightshift jobs list|show|retry|cancel`: inspecting and steering jobs from a shell. */
import type { Command } from 'commander';
import { NightshiftError } from '../../errors.js';
import type { Job, JobLogLine, JobRun, JobState } from '../../job.js';
import { MAX_PAGE } from '../../validation/bounds.js';
import { jobListParams, type JobListInput } from '../../validation/job-filter.js';
import { nonEmpty, PAGE_RANGE, parseInteger, parseIsoDate, parseState } from '../arguments.js';
import {
  DEFAULT_LIST_LIMIT,
  jobJson,
  jobLogLineJson,
  jobRunJson,
  nextPageLine,
  printJson,
  renderTable,
  shortJson,
  shortTime,
} from '../output.js';
import { typedCommonFlags, withCommonOptions, withSession, type CommonOptions } from '../session.js';

interface ListFlags extends CommonOptions {
  state?: JobState;
  queue?: string;
  task?: string;
  limit: number;
  cursor?: string;
  search?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

/** Registers `jobs` and its subcommands. */
export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('list, inspect, retry and cancel jobs');

  withCommonOptions(
    jobs
      .command('list')
      .description('list jobs, newest first')
      .option('--state <state>', 'scheduled, queued, running, completed, failed or cancelled', (v) =>
        parseState('--state', v),
      )
      .option('--queue <name>', 'only this queue')
      .option('--task <name>', 'only this task')
      .option(
        '--limit <n>',
        `jobs per page (1-${MAX_PAGE})`,
        (v) => parseInteger('--limit', v, PAGE_RANGE),
        DEFAULT_LIST_LIMIT,
      )
      .option('--cursor <cursor>', 'continue after a previous page (its nextCursor)')
      .option('--search <text>', 'text in the payload, result or error message (case-insensitive)')
      // The one date parser of the CLI, as --run-at's: `new Date` would take February 30 for March 2.
      .option('--created-after <iso>', 'created at or after this ISO 8601 time', (v) =>
        parseIsoDate('--created-after', v),
      )
      .option('--created-before <iso>', 'created before this ISO 8601 time', (v) =>
        parseIsoDate('--created-before', v),
      ),
  ).action(async (flags: ListFlags, command: Command) => {
    await withSession(flags, async (session) => {
      const filters: JobListInput = {
        limit: flags.limit,
        ...(flags.state !== undefined && { state: flags.state }),
        ...(flags.queue !== undefined && { queue: flags.queue }),
        ...(flags.task !== undefined && { task: flags.task }),
        ...(flags.cursor !== undefined && { cursor: flags.cursor }),
        search: flags.search,
        createdAfter: flags.createdAfter,
        createdBefore: flags.createdBefore,
      };
      // Checked before the database opens: a bad filter is the error even where there is no database.
      jobListParams(filters);
      const ns = await session.connect();
      const page = await ns.listJobs(filters);
      if (session.json) {
        printJson(session.stdout, { jobs: page.jobs.map(jobJson), nextCursor: page.nextCursor });
        return;
      }
      session.stdout.write(
        renderTable(
          ['ID', 'TASK', 'QUEUE', 'STATE', 'ATTEMPT', 'RUN AT', 'UPDATED'],
          page.jobs.map((job) => [
            job.id,
            job.task,
            job.queue,
            job.state,
            `${job.attempt}/${job.maxAttempts}`,
            shortTime(job.runAt),
            shortTime(job.updatedAt),
          ]),
        ),
      );
      if (page.nextCursor !== null)
        session.stdout.write(
          nextPageLine(
            'jobs list',
            { limit: flags.limit, cursor: page.nextCursor },
            {
              ...typedCommonFlags(command),
              '--state': flags.state,
              '--queue': flags.queue,
              '--task': flags.task,
              '--search': flags.search,
              '--created-after': flags.createdAfter?.toISOString(),
              '--created-before': flags.createdBefore?.toISOString(),
            },
          ),
        );
    });
  });

  withCommonOptions(
    jobs
      .command('show')
      .description('show a job and its run history')
      .argument('<id>', 'job id', nonEmpty('job id')),
  ).action(async (id: string, flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      const job = await ns.getJob(id);
      if (job === undefined) throw new NightshiftError('not_found', `job ${id} not found`);
      const runs = await ns.getJobRuns(id);
      const logLines = (await ns.getJobLogs(id)).length;
      if (session.json)
        printJson(session.stdout, { job: jobJson(job), runs: runs.map(jobRunJson), logLines });
      else session.stdout.write(describeJob(job, runs, logLines));
    });
  });

  withCommonOptions(
    jobs
      .command('logs')
      .description('print the lines a job’s handler wrote with ctx.log, oldest attempt first')
      .argument('<id>', 'job id', nonEmpty('job id')),
  ).action(async (id: string, flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      if ((await ns.getJob(id)) === undefined) throw new NightshiftError('not_found', `job ${id} not found`);
      const logs = await ns.getJobLogs(id);
      if (session.json) printJson(session.stdout, { logs: logs.map(jobLogLineJson) });
      else session.stdout.write(logs.map(logLineText).join(''));
    });
  });

  withCommonOptions(
    jobs
      .command('retry')
      .description('queue a failed or cancelled job again, with one more attempt')
      .argument('<id>', 'job id', nonEmpty('job id')),
  ).action(async (id: string, flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      const { outcome, job } = await ns.retryJob(id);
      if (outcome === 'not_found') throw new NightshiftError('not_found', `job ${id} not found`);
      if (outcome === 'not_retryable') {
        throw new NightshiftError(
          'conflict',
          `job ${id} is ${job?.state ?? 'not final'}; only failed or cancelled jobs can be retried`,
        );
      }
      report(session.json, session.stdout, outcome, job, `job ${id} queued again`);
    });
  });

  withCommonOptions(
    jobs
      .command('cancel')
      .description('cancel a job (a running one is aborted)')
      .argument('<id>', 'job id', nonEmpty('job id')),
  ).action(async (id: string, flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      const { outcome, job } = await ns.cancelJob(id);
      if (outcome === 'not_found') throw new NightshiftError('not_found', `job ${id} not found`);
      if (outcome === 'already_final') {
        throw new NightshiftError(
          'conflict',
          `job ${id} is already ${job?.state ?? 'finished'}; nothing to cancel`,
        );
      }
      const text =
        outcome === 'cancelled'
          ? `job ${id} cancelled`
          : `job ${id} is running: its handler was asked to stop`;
      report(session.json, session.stdout, outcome, job, text);
    });
  });
}

function report(
  json: boolean,
  out: { write(text: string): unknown },
  outcome: string,
  job: Job | undefined,
  text: string,
): void {
  if (json) printJson(out, { outcome, job: job === undefined ? null : jobJson(job) });
  else out.write(text + '\n');
}

function describeJob(job: Job, runs: JobRun[], logLines: number): string {
  // A job waiting again (a retry's backoff, a release, `jobs retry`) keeps its last attempt's start
  // and error: labelled "started" and "error", they read as if the job were running or had just failed.
  const waiting = job.state === 'queued' || job.state === 'scheduled';
  const fields: Array<[string, string | number | null]> = [
    ['id', job.id],
    ['task', job.task],
    ['queue', job.queue],
    ['state', job.cancelRequested && job.state === 'running' ? 'running (cancel requested)' : job.state],
    ['attempt', `${job.attempt} of ${job.maxAttempts}`],
    ['priority', job.priority],
    ['run at', shortTime(job.runAt)],
    ['created', shortTime(job.createdAt)],
    [waiting ? 'last attempt started' : 'started', shortTime(job.startedAt)],
    ['finished', shortTime(job.finishedAt)],
    ['key', job.idempotencyKey],
    ['schedule', job.scheduleId],
    ['parent', job.parentId],
    ['payload', shortJson(job.payload, 200)],
    ['result', job.result === null ? null : shortJson(job.result, 200)],
    [
      waiting ? 'last attempt error' : 'error',
      job.error === null ? null : `${job.error.reason}: ${job.error.message}`,
    ],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  const lines = fields
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${name.padEnd(width)}  ${value}`);
  const history =
    runs.length === 0
      ? 'runs: none yet\n'
      : 'runs:\n' +
        renderTable(
          ['ATTEMPT', 'OUTCOME', 'WORKER', 'STARTED', 'DURATION', 'LAG', 'ERROR'],
          runs.map((run) => [
            run.attempt,
            run.maxDurationExceeded ? `${run.outcome} (over maxDurationMs)` : run.outcome,
            run.workerId,
            shortTime(run.startedAt),
            `${run.durationMs} ms`,
            `${run.runLagMs} ms`,
            run.error?.message ?? null,
          ]),
        );
  const logs =
    logLines === 0
      ? 'logs: none\n'
      : `logs: ${logLines} line${logLines === 1 ? '' : 's'} (nightshift jobs logs ${job.id})\n`;
  return lines.join('\n') + '\n\n' + history + logs;
}

/** One log line as a shell reads it: attempt, time, level, message, then the data as JSON. */
function logLineText(line: JobLogLine): string {
  const data = line.data === null ? '' : `  ${JSON.stringify(line.data)}`;
  return `#${line.attempt} ${line.at.toISOString()} ${line.level.padEnd(4)} ${line.message}${data}\n`;
}
