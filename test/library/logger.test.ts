/**
 * nightshift's default logger (`createLogger`, what `Nightshift.connect` logs through unless given one)
 * writes an error's reason once. nightshift's errors quote their cause in their message (the driver's
 * error is the `cause`), and pino's serializer appended every cause's message again: "PostgreSQL is
 * unavailable: connect ECONNREFUSED 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1".
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nodeScriptArgs } from '../support/child-process.js';
import { sparePort } from '../support/own-postgres.js';

/** Runs the fixture on plain Node and resolves with its stdout. */
function runFixture(port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = new URL('./fixtures/log-unreachable.ts', import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeScriptArgs(script), String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NIGHTSHIFT_LOG_LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the default logger', () => {
  it("logs an error's message once, its cause's reason not repeated; the stack keeps the cause", async () => {
    const result = await runFixture(await sparePort());
    expect(result.code, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.trim()) as {
      msg: string;
      err: { type: string; code: string; message: string; stack: string };
    };
    expect(line.msg).toBe('database unreachable');
    expect(line.err).toMatchObject({ type: 'NightshiftError', code: 'database_unavailable' });
    expect(line.err.message).toMatch(/^PostgreSQL is unavailable: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(line.err.stack).toMatch(/caused by: Error: connect ECONNREFUSED/);
  });
});
