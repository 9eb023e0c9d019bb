/** `nightshift serve`: the REST API and the web dashboard, without a worker or scheduler. */
import type { Command } from 'commander';
import { nonEmpty, parseInteger } from '../arguments.js';
import { runServices } from '../run-services.js';
import { SERVICE, withCommonOptions, withSession, type CommonOptions } from '../session.js';

/** `--host`, `--port` and `--read-only`, shared by `serve` and `start`. */
export interface HttpFlags {
  host?: string;
  port?: number;
  readOnly?: boolean;
}

/** Adds `--host`, `--port` and `--read-only` to a command. */
export function withHttpOptions(command: Command): Command {
  return command
    .option(
      '--host <host>',
      'address the API listens on (default: the config’s http.host, else 127.0.0.1)',
      nonEmpty('--host'),
    )
    .option(
      '--port <port>',
      'port of the API; 0 picks a free one (default: the config’s http.port, else 7400)',
      (v) => parseInteger('--port', v, [0, 65_535]),
    )
    .option('--read-only', 'refuse every change through the API and dashboard (403 read_only)');
}

/** The API settings of a command's flags. */
export function httpOf(flags: HttpFlags): HttpFlags {
  return {
    ...(flags.host !== undefined && { host: flags.host }),
    ...(flags.port !== undefined && { port: flags.port }),
    ...(flags.readOnly === true && { readOnly: true }),
  };
}

/** Registers `serve`. */
export function registerServe(program: Command): void {
  withCommonOptions(
    withHttpOptions(
      program.command('serve').description('serve the REST API and the dashboard until SIGTERM/SIGINT'),
    ),
  ).action(async (flags: CommonOptions & HttpFlags) => {
    await withSession(
      flags,
      async (session) => {
        // The API validates payloads against the config's tasks; without a config every enqueue is
        // refused as an unknown task, and reading, retrying and cancelling still work.
        const config = (await session.config())?.config ?? { tasks: {} };
        await runServices(session, config, { worker: false, http: httpOf(flags) });
      },
      SERVICE,
    );
  });
}
