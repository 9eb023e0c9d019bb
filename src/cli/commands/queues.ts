/** `nightshift queues list|pause|resume`: queue depths and the cluster-wide pause from a shell. */
import type { Command } from 'commander';
import type { QueueInfo } from '../../store/store.js';
import { queueNameIn } from '../../validation/bounds.js';
import { nonEmpty } from '../arguments.js';
import { duration, printJson, renderTable, throttledCell } from '../output.js';
import { withCommonOptions, withSession, type CommonOptions, type Session } from '../session.js';

/** Registers `queues` and its subcommands. */
export function registerQueues(program: Command): void {
  const queues = program.command('queues').description('list queues, pause and resume them for every worker');

  withCommonOptions(
    queues
      .command('list')
      .description(
        'every queue with jobs or paused: counts per state, oldest wait, ready jobs held back and why',
      ),
  ).action(async (flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const list = await (await session.connect()).queues.list();
      if (session.json) {
        printJson(session.stdout, { queues: list });
        return;
      }
      session.stdout.write(
        renderTable(
          [
            'QUEUE',
            'PAUSED',
            'SCHEDULED',
            'QUEUED',
            'RUNNING',
            'COMPLETED',
            'FAILED',
            'CANCELLED',
            'OLDEST READY',
            'THROTTLED',
          ],
          list.map((q) => [
            q.name,
            q.paused ? 'yes' : 'no',
            ...[q.counts.scheduled, q.counts.queued, q.counts.running, q.counts.completed].map(String),
            String(q.counts.failed),
            String(q.counts.cancelled),
            q.oldestReadyAgeMs === null ? '-' : duration(q.oldestReadyAgeMs),
            throttledCell(q.throttled),
          ]),
        ),
      );
    });
  });

  for (const action of ['pause', 'resume'] as const) {
    withCommonOptions(
      queues
        .command(action)
        .description(
          action === 'pause'
            ? 'stop every worker from claiming this queue (running jobs finish; a queue without jobs may be paused)'
            : 'let workers claim this queue again',
        )
        .argument('<name>', 'queue name', nonEmpty('queue name')),
    ).action(async (name: string, flags: CommonOptions) => {
      await withSession(flags, async (session) => {
        // Checked before the database opens: a name no queue can have is the error, not the database.
        queueNameIn('queue', name);
        const ns = await session.connect();
        report(session, action === 'pause' ? await ns.queues.pause(name) : await ns.queues.resume(name));
      });
    });
  }
}

function report(session: Session, queue: QueueInfo): void {
  if (session.json) printJson(session.stdout, { queue });
  else session.stdout.write(`queue ${queue.name} ${queue.paused ? 'paused' : 'resumed'}\n`);
}
