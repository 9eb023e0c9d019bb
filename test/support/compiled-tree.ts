/**
 * The compiled tree the tests' child processes run from (vitest's global setup, vitest.config.ts).
 * A child started as `node --import tsx file.ts` compiles the engine before it does anything: a CLI
 * call cost 1.5 s of CPU that way against 0.5 s compiled, and it keeps tsx's module-hooks thread
 * (~6 ms of CPU a second) for its whole life; the suite starts hundreds of children. So each run
 * compiles src/, test/ and examples/ once with esbuild, file by file (a transform, not a bundle: the
 * tree keeps its shape, so relative imports, the thread modules found beside their own module
 * (`siblingModule`) and the migrations read beside the stores work as they do in dist/), and the
 * children run `node <file>.js` (`nodeScriptArgs` in child-process.ts). The tests themselves still
 * import the sources through vitest's transform.
 *
 * Each run builds its own tree, `.test-build/run-<pid>-<suffix>/` in the repository (so packages
 * resolve from its node_modules by walking up), at its start, so a child never runs code older than
 * the sources the run tests, and two runs in one checkout never share a tree. The run removes it at
 * its end; a tree whose run was killed is removed by the next run.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { COMPILED_TREE_ENV } from './child-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TREES = join(ROOT, '.test-build');
const COMPILED = ['src', 'test', 'examples'];
/** Read by the code by these names at run time, so copied as they are: the demo loads its config through jiti. */
const KEPT_AS_TYPESCRIPT = ['examples/demo/nightshift.config.ts'];
/**
 * What the code reads two levels above its own directory, as it does from dist/: package.json (the
 * version, and `"type": "module"` for the tree's .js files) and dist/dashboard (the built dashboard).
 */
const LINKED = ['package.json', 'dist'];

/** A run's compiled tree. */
export interface CompiledTree {
  readonly dir: string;
  /** Compiles the sources again, as they are now. */
  readonly rebuild: () => Promise<void>;
  readonly remove: () => void;
}

/** Builds a compiled tree for this process and names it in COMPILED_TREE_ENV, which its children inherit. */
export async function buildCompiledTree(): Promise<CompiledTree> {
  mkdirSync(TREES, { recursive: true });
  removeAbandonedTrees();
  const dir = mkdtempSync(join(TREES, `run-${process.pid}-`));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  await compileInto(dir);
  process.env[COMPILED_TREE_ENV] = dir;
  return {
    dir,
    remove,
    rebuild: async () => {
      remove();
      await compileInto(dir);
    },
  };
}

const BUILT = Symbol.for('nightshift.test.compiledTree');

/** vitest's global setup: one tree for the run, rebuilt when watch mode runs the tests again. */
export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  // vitest runs a global setup once per project (the root one and each of vitest.config.ts's), in
  // one process: the first call builds the tree they all use.
  const scope = globalThis as { [BUILT]?: true };
  if (scope[BUILT]) return undefined;
  scope[BUILT] = true;
  const tree = await buildCompiledTree();
  project.onTestsRerun(() => tree.rebuild());
  return tree.remove;
}

async function compileInto(dir: string): Promise<void> {
  const sources: string[] = [];
  const copied: string[] = [...KEPT_AS_TYPESCRIPT];
  for (const top of COMPILED) {
    for (const entry of readdirSync(join(ROOT, top), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = relative(ROOT, join(entry.parentPath, entry.name));
      // Test files run in vitest's workers only, never in a child.
      if (file.endsWith('.test.ts')) continue;
      if (file.endsWith('.ts')) sources.push(file);
      else copied.push(file);
    }
  }
  await build({
    absWorkingDir: ROOT,
    entryPoints: sources,
    outdir: dir,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The project's compiler options (verbatimModuleSyntax keeps every import tsc keeps).
    tsconfig: 'tsconfig.json',
    // Children run with --enable-source-maps: a stack trace in their stderr names the .ts lines, as under tsx.
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'error',
  });
  for (const file of copied) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  for (const name of LINKED) symlinkSync(join(ROOT, name), join(dir, name));
}

/** Trees of runs that ended without removing theirs (killed): their process is gone. */
function removeAbandonedTrees(): void {
  for (const name of readdirSync(TREES)) {
    const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && !alive(pid)) rmSync(join(TREES, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, run by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
