/** Running a TypeScript helper script in its own Node process, as a second program on the database would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A running child and its output so far. */
export interface Child {
  process: ChildProcess;
  /** Stdout lines received so far. */
  lines: string[];
  /** Resolves with stdout lines when the child exits 0; rejects with its stderr otherwise. */
  done: Promise<string[]>;
}

/** Starts `node --import tsx <script> ...args` from the repository root, with extra `env` if given. */
export function startChild(script: URL, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script), ...args], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  return { process: child, lines, done };
}
