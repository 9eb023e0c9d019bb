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

const code = await runCli(process.argv);
// Exit explicitly: a handler's stray timer or socket must not keep a finished command alive.
process.exit(code);
