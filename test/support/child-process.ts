/** Running a TypeScript helper script in its own Node process, as a second program on the database would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Names the run's compiled tree (compiled-tree.ts) for the test processes and their children. */
export const COMPILED_TREE_ENV = 'NIGHTSHIFT_TEST_BUILD';

/** `source`, a .ts file of src/, test/ or examples/, as compiled in the run's tree: the .js file a child loads. */
export function compiledFile(source: URL): string {
  const tree = process.env[COMPILED_TREE_ENV];
  if (tree === undefined) {
    throw new Error(
      `${COMPILED_TREE_ENV} is not set: run the tests through vitest, whose global setup compiles the tree children run from (test/support/compiled-tree.ts)`,
    );
  }
  const path = relative(ROOT, fileURLToPath(source));
  if (!path.endsWith('.ts') || path.startsWith('..'))
    throw new Error(`not a source of the repository: ${source.href}`);
  return join(tree, `${path.slice(0, -'.ts'.length)}.js`);
}

/** The arguments of `node` running `script` (a .ts file of src/, test/ or examples/) compiled, on plain Node. */
export function nodeScriptArgs(script: URL): string[] {
  return ['--enable-source-maps', compiledFile(script)];
}

/** A running child and its output so far. */
export interface Child {
  process: ChildProcess;
  /** Stdout lines received so far. */
  lines: string[];
  /** Stderr received so far. */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) once the child has ended. */
  exited: Promise<number | null>;
  /** Resolves with stdout lines when the child exits 0; rejects with its stderr otherwise. */
  done: Promise<string[]>;
}

/** Options of `startChild`. */
export interface ChildOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Keep stdin open as a pipe (`process.stdin` of the returned child) to talk to the script. */
  stdin?: boolean;
}

/** Starts `node <script, compiled> ...args` from the repository root. */
export function startChild(script: URL, args: string[], options: ChildOptions = {}): Child {
  const child = spawn(process.execPath, [...nodeScriptArgs(script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
  });
  // Without `stdin`, the script sees end of input at once, as with no stdin at all.
  if (!options.stdin) child.stdin.end();
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<string[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (buffered) lines.push(buffered);
      if (code === 0) resolve(lines);
      else reject(new Error(`child ${script.pathname} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { process: child, lines, stderr: () => stderr, exited, done };
}
