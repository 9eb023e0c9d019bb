/**
 * A detached shell that outlives the test process: a test runner may end its worker processes with a
 * signal, which skips Node's exit hooks, so a server a test started (PgBouncer, Prometheus) would keep
 * running. Once the test process is gone, the watchdog stops that server and removes its directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Watches the current process on behalf of the server `pid`, whose command name is `comm`: it checks
 * the pid still names that program before signalling it, in case the pid was reused. Kill the returned
 * process when the server is stopped normally.
 */
export function startWatchdog(pid: number, comm: string, dir: string): ChildProcess {
  const watchdog = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
        'if [ "$(cat /proc/$2/comm 2>/dev/null)" = "$3" ]; then kill "$2"; fi; rm -rf "$4"',
      'watchdog',
      String(process.pid),
      String(pid),
      comm,
      dir,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  return watchdog;
}
