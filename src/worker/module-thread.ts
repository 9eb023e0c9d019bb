/**
 * Starting a worker thread on one of this package's own modules, compiled or from its TypeScript
 * sources. Compiled, the thread loads the .js file. From sources (tests, `node --import tsx`) it
 * registers tsx first: Node 20 does not apply `--import` hooks to a thread's entry module, so the
 * entry is a bootstrap that registers tsx and then imports the .ts file.
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
