/**
 * Runs the real `nightshift` CLI, compiled from the current sources (test/support/compiled-tree.ts;
 * no `npm run build` needed), in a child process, the way a user or a supervisor would: arguments, a
 * working directory, an environment, exit code, stdout, stderr.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeScriptArgs } from '../support/child-process.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url);

/** The arguments of `node` running the CLI (before the CLI's own). */
export function cliNodeArgs(): string[] {
  return nodeScriptArgs(MAIN);
}

/**
 * Bound for one CLI test. Every CLI call is a fresh Node process costing a quarter to half a
 * CPU-second to start; on a shared two-core machine a test making twenty of them needs far more than vitest's
 * default. This guards against hangs; it asserts nothing about speed.
 */
export const CLI_TEST_TIMEOUT_MS = 120_000;

/** A finished CLI run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Where and how to run the CLI. */
export interface CliOptions {
  cwd: string;
  env?: Record<string, string>;
  input?: string;
  /**
   * Give the CLI operating-system pipes for stdout and stderr, as a shell pipeline (`| jq`) does:
   * Node's own 'pipe' stdio is a socket pair, whose buffer is larger than a pipe's 64 KiB.
   */
  shellPipes?: boolean;
}

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'nightshift-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts the CLI; the caller owns the process. */
export function spawnCli(args: string[], options: CliOptions): ChildProcessWithoutNullStreams {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NIGHTSHIFT_LOG_LEVEL: 'info',
    ...options.env,
  };
  // The parent's NIGHTSHIFT_DB must never leak into a test that means to use its own database.
  if (options.env?.['NIGHTSHIFT_DB'] === undefined) delete env['NIGHTSHIFT_DB'];
  const nodeArgs = [...cliNodeArgs(), ...args];
  if (options.shellPipes === true) {
    // pipefail: the exit code is the CLI's, not cat's.
    const pipeline = '"$@" 2> >(cat >&2) | cat';
    const bashArgs = ['-o', 'pipefail', '-c', pipeline, 'bash', process.execPath, ...nodeArgs];
    return spawn('bash', bashArgs, { cwd: options.cwd, env });
  }
  return spawn(process.execPath, nodeArgs, { cwd: options.cwd, env, stdio: 'pipe' });
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

/** Runs many CLI calls, at most `parallel` at a time, and returns their results in order. */
export async function runCliMany(
  calls: Array<{ args: string[]; options: CliOptions }>,
  parallel = 4,
): Promise<CliResult[]> {
  const results: CliResult[] = new Array<CliResult>(calls.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < calls.length; i = next++) {
      const call = calls[i]!;
      results[i] = await runCli(call.args, call.options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, calls.length) }, lane));
  return results;
}
