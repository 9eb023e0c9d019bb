/** Running a TypeScript helper script in its own Node process, as a second program on the database would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

/** Starts `node --import tsx <script> ...args` from the repository root. */
export function startChild(script: URL, args: string[], options: ChildOptions = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script), ...args], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
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
