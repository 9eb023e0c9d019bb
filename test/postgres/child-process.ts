/** Running TypeScript fixtures as real child processes (compiled, on plain Node) and collecting their output. */
import { spawn } from 'node:child_process';
import { nodeScriptArgs } from '../support/child-process.js';

/** What a finished child process left behind. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `test/postgres/fixtures/<fixture>` with `args` and resolves when it exits. */
export function runFixture(fixture: string, args: string[]): Promise<ChildResult> {
  const script = new URL(`./fixtures/${fixture}`, import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeScriptArgs(script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
