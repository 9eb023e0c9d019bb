/**
 * Waiting that a shutdown can cut short. Loops sleep with their service's stop signal so `stop()` never
 * waits out a poll interval or a backoff delay.
 */

/** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, signal, null);
}

/**
 * Waits until `work` settles, `ms` pass, or `signal` aborts, whichever comes first (it never rejects).
 * Unlike racing `work` against `sleep(ms)`, it clears its timer once `work` wins: a shutdown that
 * raced its 30 s grace against handlers that ended at once otherwise kept the process alive 30 s.
 */
export function within(work: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, signal, work);
}

/**
 * As `within`, and says whether `work` settled (resolved or rejected) in time: a close or a stop that
 * waited long enough cuts short whatever is still out.
 */
export async function settledWithin(
  work: Promise<unknown>,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  let settled = false;
  const settle = (): void => {
    settled = true;
  };
  await wait(ms, signal, work.then(settle, settle));
  return settled;
}

function wait(ms: number, signal: AbortSignal | undefined, work: Promise<unknown> | null): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    work?.then(done, done);
  });
}
