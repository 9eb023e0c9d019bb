/**
 * The worker process's code as one JavaScript file, so it runs on plain `node`. Run through tsx, a
 * process keeps Node.js 20's module-hooks thread alive for its whole life, and that thread alone costs
 * ~6 ms of CPU per second while nothing else happens (an idle `node --import tsx` process: 6.8 ms/s
 * against 0.8 without): the idle scenario would charge it to every system's worker.
 *
 * The bundle holds the benchmark's own modules (and the test support they import). Packages stay
 * imports, found from bench/ as before, and so does nightshift's build: it locates its worker-thread
 * modules beside its own files (dist/), so it must run from there, as an installed package does.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const DIST_DIR = path.resolve(BENCH_DIR, '..', 'dist');
const OUT_DIR = path.join(BENCH_DIR, '.build');

/** Imports of nightshift's build stay imports, rewritten relative to the bundle. */
const distExternal: Plugin = {
  name: 'nightshift-dist-external',
  setup(plugins) {
    plugins.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = path.resolve(args.resolveDir, args.path);
      if (!target.startsWith(DIST_DIR + path.sep)) return undefined;
      return { path: `./${path.relative(OUT_DIR, target).split(path.sep).join('/')}`, external: true };
    });
  },
};

let bundled: Promise<string> | undefined;

/** The path of the bundled worker process (./worker-process.ts), built once per run. */
export function bundledWorkerProcess(): Promise<string> {
  bundled ??= (async () => {
    const outfile = path.join(OUT_DIR, 'worker-process.mjs');
    await build({
      entryPoints: [path.join(BENCH_DIR, 'worker-process.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      plugins: [distExternal],
      logLevel: 'error',
    });
    return outfile;
  })();
  return bundled;
}
