/**
 * The torture run's history: one JSON line per event, one append-only file per process. A line is one
 * write(2) followed by fsync, made BEFORE the step it records is treated as done (a handler records
 * its start before doing its work, a client records an acknowledgement only after the call returned),
 * so a kill -9 can lose the record of something that did not happen yet, never of something that did.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The wall clock before any skew a process may inject into its own `Date` (see worker-process.ts). */
export const realNow: () => number = Date.now.bind(Date);

/** Client operations the workload performs. */
export type OpAction =
  'enqueue' | 'cancel' | 'retry' | 'schedule_create' | 'schedule_pause' | 'schedule_resume';

/** Every event of a run. `t` is the real wall clock (ms), `proc` the writing process's name. */
export type HistoryEvent = { t: number; proc: string } & (
  | { kind: 'op'; op: number; action: OpAction; args: Record<string, unknown> }
  | { kind: 'ack'; op: number; result: Record<string, unknown> }
  | { kind: 'nack'; op: number; error: string }
  | { kind: 'exec_start'; jobId: string; task: string; attempt: number; resumeFrom?: number }
  | { kind: 'checkpoint_saved'; jobId: string; attempt: number; next: number }
  | { kind: 'exec_end'; jobId: string; attempt: number; outcome: 'returned' | 'threw' | 'aborted' }
  | { kind: 'completed_event'; jobId: string; attempt: number }
  | { kind: 'lease_lost_event'; jobId: string; attempt: number }
  | { kind: 'fault'; fault: string; target: string; phase: 'begin' | 'end'; detail?: string }
  | { kind: 'process'; role: string; pid: number; phase: 'spawned' | 'exited'; detail?: string }
);

/** An event before `t` and `proc` are added by the writer. */
export type NewEvent = HistoryEvent extends infer E
  ? E extends unknown
    ? Omit<E, 't' | 'proc'>
    : never
  : never;

/** Appends events of one process to `<dir>/<proc>.ndjson`. */
export class HistoryWriter {
  private readonly fd: number;

  constructor(
    dir: string,
    readonly proc: string,
  ) {
    this.fd = openSync(join(dir, `${proc}.ndjson`), 'a');
  }

  /** Writes and syncs one event; returns once it is on disk. */
  record(event: NewEvent): void {
    const line = `${JSON.stringify({ t: realNow(), proc: this.proc, ...event })}\n`;
    writeSync(this.fd, line);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Every event of every process in `dir`, ordered by time. A final line cut short (a process killed
 * inside its write) is dropped and counted: it recorded nothing that had happened yet.
 */
export function readHistory(dir: string): { events: HistoryEvent[]; tornLines: number } {
  const events: HistoryEvent[] = [];
  let tornLines = 0;
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ndjson'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        events.push(JSON.parse(line) as HistoryEvent);
      } catch {
        tornLines += 1;
      }
    }
  }
  events.sort((a, b) => a.t - b.t);
  return { events, tornLines };
}
