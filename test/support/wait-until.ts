/** Waiting for a condition in tests without sleeping a fixed time. */

/** Options for `waitUntil`. */
export interface WaitOptions {
  /** Fail after this long. Default 10 s: generous on a shared 2-core machine, still bounded. */
  timeoutMs?: number;
  /** Poll interval. Default 10 ms. */
  intervalMs?: number;
  /**
   * Shown when the wait times out. A function is called then, so a message naming progress (`${done} of
   * N`) reads what was done when the wait gave up, not when it began.
   */
  message?: string | (() => string);
}

/**
 * Polls `condition` until it returns a truthy value, then resolves with that value. Rejects after
 * `timeoutMs`, so a broken test fails with a message instead of hanging.
 */
export async function waitUntil<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() >= deadline) {
      const message = typeof options.message === 'function' ? options.message() : options.message;
      throw new Error(`waitUntil timed out after ${timeoutMs} ms${message ? `: ${message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
