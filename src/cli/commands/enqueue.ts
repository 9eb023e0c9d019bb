/**
 * `nightshift enqueue TASK`: adds one job (or, with `--from`, one job per line of newline-delimited
 * JSON payloads, in one transaction) and prints the job id. A repeated `--key` enqueues nothing and
 * says so, printing the existing job's id.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { NightshiftError } from '../../errors.js';
import { JOB_RANGES } from '../../validation/bounds.js';
import { MAX_JOB_LABELS } from '../../validation/labels.js';
import {
  nonEmpty,
  parseInteger,
  parseIsoDate,
  parseJson,
  parseLabels,
  unreadableFile,
  usageError,
} from '../arguments.js';
import { optionNamed } from '../flag-words.js';
import { jobJson, printJson } from '../output.js';
import { withCommonOptions, withSession, type CommonOptions } from '../session.js';

interface EnqueueFlags extends CommonOptions {
  payload?: unknown;
  from?: string;
  queue?: string;
  key?: string;
  delay?: number;
  runAt?: Date;
  priority?: number;
  maxAttempts?: number;
  concurrencyKey?: string;
  concurrencyLimit?: number;
  requires?: string[];
  group?: string;
}

/** Registers `enqueue`. */
export function registerEnqueue(program: Command): void {
  const enqueue = withCommonOptions(
    program
      .command('enqueue')
      .description('enqueue a job and print its id')
      .argument('<task>', 'task name', nonEmpty('task name'))
      .option('--payload <json>', 'payload as JSON (default: null)', (v) => parseJson('--payload', v))
      .option(
        '--from <file>',
        "one payload per line (newline-delimited JSON; '-' reads stdin), enqueued together",
      )
      .option('--queue <name>', "queue (default: the task's, else 'default')")
      .option('--key <key>', 'idempotency key: a second enqueue with it yields the first job')
      .option('--delay <ms>', 'run no earlier than this many milliseconds from now', (v) =>
        parseInteger('--delay', v, JOB_RANGES.delayMs),
      )
      .option('--run-at <iso>', 'run no earlier than this time (ISO 8601)', (v) =>
        parseIsoDate('--run-at', v),
      )
      .option('--priority <n>', 'higher runs first (default 0)', (v) =>
        parseInteger('--priority', v, JOB_RANGES.priority),
      )
      .option('--max-attempts <n>', "attempts before the job fails (default: the task's, else 5)", (v) =>
        parseInteger('--max-attempts', v, JOB_RANGES.maxAttempts),
      )
      .option(
        '--concurrency-key <key>',
        "at most the key's limit of jobs with this key run at once, cluster-wide (docs/TENANCY.md)",
      )
      .option(
        '--concurrency-limit <n>',
        "the key's limit for this job (default: the task's, else the queue's, else 1); needs a key (--concurrency-key, or the task's or queue's)",
        (v) => parseInteger('--concurrency-limit', v, JOB_RANGES.concurrencyLimit),
      )
      .option(
        '--requires <a,b>',
        "labels a worker must offer to claim the job, e.g. region:eu,gpu (default: the task's; '' for none)",
        (v) => parseLabels('--requires', v, MAX_JOB_LABELS),
      )
      .option(
        '--group <name>',
        "the group (tenant): claims take turns between groups' jobs, by weight (docs/TENANCY.md)",
      ),
  );
  optionNamed(enqueue, { '--key': 'idempotencyKey' }).action(async (task: string, flags: EnqueueFlags) => {
    if (flags.delay !== undefined && flags.runAt !== undefined)
      throw usageError('give --delay or --run-at, not both');
    if (flags.from !== undefined && flags.payload !== undefined)
      throw usageError('give --payload or --from, not both');
    if (flags.from !== undefined && flags.key !== undefined) {
      throw usageError('--key names one job; it cannot be combined with --from');
    }
    // Read and parse every line before connecting: a bad line must leave the database untouched.
    const payloads = flags.from === undefined ? null : readPayloads(flags.from);

    const options = {
      ...(flags.queue !== undefined && { queue: flags.queue }),
      ...(flags.key !== undefined && { idempotencyKey: flags.key }),
      ...(flags.delay !== undefined && { delayMs: flags.delay }),
      ...(flags.runAt !== undefined && { runAt: flags.runAt }),
      ...(flags.priority !== undefined && { priority: flags.priority }),
      ...(flags.maxAttempts !== undefined && { maxAttempts: flags.maxAttempts }),
      ...(flags.concurrencyKey !== undefined && { concurrencyKey: flags.concurrencyKey }),
      ...(flags.concurrencyLimit !== undefined && { concurrencyLimit: flags.concurrencyLimit }),
      ...(flags.requires !== undefined && { requires: flags.requires }),
      ...(flags.group !== undefined && { group: flags.group }),
    };

    await withSession(flags, async (session) => {
      // Every job is built, and so checked, exactly as the library will build it, before connecting:
      // a typo or a bad payload must neither create nor change a database.
      await session.requireDeclaredTask(task);
      const registry = await session.registry();
      const { buildNewJob } = await import('../../enqueue.js');
      for (const { payload, line } of payloads ?? [{ payload: flags.payload ?? null, line: null }]) {
        await buildNewJob(registry, task, payload, options).catch((error: unknown) => {
          // A person reading the file counts its lines from 1, blank ones included.
          if (line === null || !(error instanceof NightshiftError)) throw error;
          throw new NightshiftError(error.code, `--from line ${line}: ${error.message}`, { cause: error });
        });
      }
      const ns = await session.connect();
      if (payloads !== null) {
        const results = await ns.enqueueMany(payloads.map(({ payload }) => ({ task, payload, options })));
        if (session.json) printJson(session.stdout, { ids: results.map((r) => r.id) });
        else session.stdout.write(results.map((r) => r.id).join('\n') + (results.length > 0 ? '\n' : ''));
        return;
      }
      const result = await ns.enqueue(task, flags.payload ?? null, options);
      if (session.json) {
        const job = await ns.getJob(result.id);
        printJson(session.stdout, {
          id: result.id,
          created: result.created,
          job: job === undefined ? null : jobJson(job),
        });
        return;
      }
      session.stdout.write(result.id + '\n');
      if (!result.created)
        process.stderr.write(`a job with key "${flags.key ?? ''}" already existed; nothing was enqueued\n`);
    });
  });
}

/** Each payload of a `--from` file with its line number (from 1; blank lines hold none). */
function readPayloads(from: string): Array<{ payload: unknown; line: number }> {
  let text: string;
  try {
    text = readFileSync(from === '-' ? 0 : from, 'utf8');
  } catch (error) {
    throw unreadableFile('--from', from, error);
  }
  const payloads: Array<{ payload: unknown; line: number }> = [];
  text.split('\n').forEach((content, index) => {
    if (content.trim() === '') return;
    payloads.push({ payload: parseJson(`--from line ${index + 1}`, content), line: index + 1 });
  });
  if (payloads.length === 0) throw usageError(`--from ${from} holds no payloads`);
  return payloads;
}
