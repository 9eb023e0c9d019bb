/**
 * Entry point of the `nightshift` binary (bin/nightshift.js runs the compiled copy; tests run this file
 * with `node --import tsx`).
 */
import { cliLogger } from './logger.js';
import { runCli } from './program.js';

// A handler that leaks a rejected promise or throws from a timer must not take down a worker that is
// running other people's jobs: log it and carry on. Short commands exit right after their work anyway.
process.on('unhandledRejection', (reason) => {
  cliLogger().error({ err: reason }, 'unhandled promise rejection (ignored; a handler leaked a promise)');
});
process.on('uncaughtException', (error) => {
  cliLogger().error({ err: error }, 'uncaught exception (ignored; a handler threw outside its promise)');
});

// A reader that went away (`nightshift jobs list --json | head`) wants no more output; that is not a
// failure of the command, nor a handler's uncaught exception to log.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

const code = await runCli(process.argv);
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
// Exit explicitly: a handler's stray timer or socket must not keep a finished command alive.
process.exit(code);

/**
 * Resolves once everything written to `stream` so far has left the process. On a pipe Node writes
 * asynchronously: what does not fit the pipe's buffer (64 KiB on Linux) waits for the event loop, and
 * `process.exit` right after the command cut a long `--json` document there, with exit code 0. Writes
 * complete in order, so an empty write's callback runs once every earlier one is out; it runs with an
 * error instead when the reader has gone (`| head`), and then there is nothing left to wait for.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}
