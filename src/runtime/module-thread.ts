/**
 * Starting a worker thread on one of this package's own modules, compiled or from its TypeScript
 * sources. Compiled, the thread loads the .js file. From sources (tests, `node --import tsx`) it
 * registers tsx first: Node 20 does not apply `--import` hooks to a thread's entry module, so the
 * entry is a bootstrap that registers tsx and then imports the .ts file. Also which of the process's
 * options a thread takes: without the preloads (`withoutPreloads`), without those it refuses
 * (`withAcceptedOptions`).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker as Thread, type WorkerOptions } from 'node:worker_threads';

/** The module `name` (no extension) beside the module at `base`: its .ts source or its compiled .js. */
export function siblingModule(name: string, base: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/** A thread running `entry` (from `siblingModule`). */
export function moduleThread(entry: URL, options: WorkerOptions): Thread {
  if (!entry.pathname.endsWith('.ts')) return new Thread(entry, options);
  const tsxPackage = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = new URL('./dist/esm/api/index.mjs', tsxPackage).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => {
    api.register();
    return import(${JSON.stringify(entry.href)});
  });`;
  return new Thread(bootstrap, { ...options, eval: true });
}

/**
 * Starts a thread with `execArgv`, minus the options a thread refuses. A thread given options
 * explicitly throws on V8 and process-wide ones (`--max-old-space-size=4096`, `--stack-size`,
 * `--trace-opt`, ...), which a thread that inherits them ignores: the worker failed to start under
 * `node --max-old-space-size=4096`. Node names the refused options in its error; they are dropped and
 * the thread started again.
 */
export function withAcceptedOptions(execArgv: string[], start: (execArgv: string[]) => Thread): Thread {
  try {
    return start(execArgv);
  } catch (error) {
    const refused = refusedOptions(error);
    if (refused.size === 0) throw error;
    return start(execArgv.filter((option) => !refused.has(option)));
  }
}

/** The options an ERR_WORKER_INVALID_EXEC_ARGV error names ("... invalid execArgv flags: --a, --b=1"). */
function refusedOptions(error: unknown): Set<string> {
  if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return new Set();
  const message = (error as Error).message;
  const list = message.slice(message.lastIndexOf(': ') + 2);
  return new Set(list.split(', ').filter((option) => option.startsWith('-')));
}

const PRELOADS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The process's options minus its preloaded modules. The thread runs only this package's code, and a
 * thread inherits the preloads: `node --import tsx app.ts` loaded tsx a second time in the keeper,
 * about 70 ms of CPU at every worker start, for a thread that runs compiled JavaScript.
 */
export function withoutPreloads(execArgv: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const option = execArgv[i] as string;
    const name = option.split('=', 1)[0] as string;
    if (!PRELOADS.has(name)) kept.push(option);
    // `--import x`: the module is the next argument.
    else if (name === option) i += 1;
  }
  return kept;
}
