/**
 * `nightshift top`: a live view of the cluster for an operator on a server without a browser, read
 * from the database directly (top/snapshot.ts). On a terminal it redraws every `--interval` ms until
 * q, Ctrl-C or SIGTERM (top/screen.ts); with `--once`, or when stdout is not a terminal, it prints one
 * frame and exits; `--json` prints one snapshot as JSON.
 */
import type { Command } from 'commander';
import { parseInteger } from '../arguments.js';
import { printJson } from '../output.js';
import type { TopSnapshot } from '../top/snapshot.js';
import { withCommonOptions, withSession, type CommonOptions } from '../session.js';

interface TopFlags extends CommonOptions {
  interval: number;
  once?: boolean;
}

/** Registers `top`. */
export function registerTop(program: Command): void {
  withCommonOptions(
    program
      .command('top')
      .description(
        'live view of queues, workers, alerts, running and stuck jobs, failing schedules (q to quit)',
      )
      .option(
        '--interval <ms>',
        'refresh every MS milliseconds (100-3600000)',
        (v) => parseInteger('--interval', v, [100, 3_600_000]),
        1000,
      )
      .option('--once', 'print one frame and exit (also when stdout is not a terminal)'),
  ).action(async (flags: TopFlags) => {
    await withSession(flags, async (session) => {
      const { readTopSnapshot } = await import('../top/snapshot.js');
      // Connected with the config's tasks and alert thresholds, so ns.alerts() judges max durations.
      const ns = await session.connect();
      const read = (previous?: TopSnapshot) => readTopSnapshot(ns, { previous });
      if (session.json) {
        printJson(session.stdout, await read());
        return;
      }
      const { renderFrame } = await import('../top/frame.js');
      if (flags.once === true || !process.stdout.isTTY || !process.stdin.isTTY) {
        // A script's frame: whole lines, as many as there are; cut to the terminal's width if there is one.
        const size = {
          width: process.stdout.columns || Number.MAX_SAFE_INTEGER,
          height: Number.MAX_SAFE_INTEGER,
        };
        session.stdout.write(renderFrame(await read(), size, null).join('\n') + '\n');
        return;
      }
      const { runScreen } = await import('../top/screen.js');
      await runScreen(read, {
        intervalMs: flags.interval,
        io: { stdin: process.stdin, stdout: process.stdout },
      });
    });
  });
}
