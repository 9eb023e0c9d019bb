/**
 * Sessions a scenario opens, tracked so an interrupted run (Ctrl-C) can still drop their databases,
 * files and Redis keys.
 */
import type { BenchSession, BenchSystem } from './system.js';

// Sessions, and other instances a scenario made (see withCleanup), not yet destroyed.
const openSessions = new Set<{ destroy(): Promise<void> }>();

/** Destroys every session still open (on SIGINT); errors are reported, not thrown. */
export async function destroyOpenSessions(): Promise<void> {
  const sessions = [...openSessions];
  openSessions.clear();
  const outcomes = await Promise.allSettled(sessions.map((session) => session.destroy()));
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') console.error('cleanup failed:', outcome.reason);
  }
}

/** Runs `work` on a fresh instance of `system`, destroyed afterwards whatever happens. */
export async function withSession<T>(
  system: BenchSystem,
  work: (session: BenchSession) => Promise<T>,
): Promise<T> {
  const session = await system.open();
  openSessions.add(session);
  try {
    return await work(session);
  } finally {
    if (openSessions.delete(session)) await session.destroy();
  }
}

/**
 * Runs `work`, then `destroy` whatever happens; on SIGINT meanwhile, `destroyOpenSessions` calls it:
 * for scenarios that make their instances without a BenchSystem (a database or file of their own).
 */
export async function withCleanup<T>(destroy: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const instance = { destroy };
  openSessions.add(instance);
  try {
    return await work();
  } finally {
    if (openSessions.delete(instance)) await destroy();
  }
}
