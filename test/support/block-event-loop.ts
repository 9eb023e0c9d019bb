/**
 * Blocks this thread's event loop for `ms`, or until `done()` holds; returns whether it did.
 *
 * The thread sleeps in short `Atomics.wait` slices instead of spinning: to the event loop the two are
 * the same (nothing else in the thread runs until this returns), but a spin burned a core for the whole
 * block, which on a two-core machine took CPU from the lease-keeper thread under test and from the test
 * files running beside it.
 */
export function blockEventLoop(ms: number, done: () => boolean = () => false): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) {
    if (done()) return true;
    // Nobody notifies the cell: each wait ends by its timeout, at most 5 ms, so done() is read often.
    Atomics.wait(cell, 0, 0, Math.min(left, 5));
  }
  return done();
}
