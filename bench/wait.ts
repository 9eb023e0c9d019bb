/**
 * Bounded polling for conditions the benchmark cannot be told about by an event, such as "the database
 * says every job is finished".
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` every `intervalMs` until it returns true; rejects after `timeoutMs` with `what`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  { timeoutMs = 300_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
