/**
 * Cross-process wake-up on one SQLite file: SQLite tells no other connection that a write happened,
 * so a worker in another process would find a new job only at its next poll (1 s by default).
 *
 * Beside the database lives an empty file, `<database>-wake`. A write that makes jobs ready touches
 * it (one futimes call on a descriptor kept open) after its commit; every process with a worker
 * watches it (fs.watch: inotify on Linux, FSEvents, kqueue or ReadDirectoryChangesW elsewhere) and
 * treats a change as `job:ready` for any queue. The touch names no queue: a worker of another queue
 * claims once for nothing, which costs one indexed read.
 *
 * Only a shortcut, like PostgreSQL's NOTIFY: a file that cannot be created, touched or watched (a
 * read-only directory, a file system without change events) leaves the poll to find the jobs.
 * The watch was chosen over one on the `-wal` file because every write changes that (renewals,
 * heartbeats, a worker's own finishes), which would wake every worker for each of them.
 *
 * A process's own touches reach its own watch too, after its store has told its workers already: each
 * such echo cost a claim that came back empty. So every touch sets the file's access time to a tag of
 * this process, and a change whose file still carries this process's tag is its own. A touch of
 * another process that this process's touch overwrote before its watch looked is passed over with it;
 * this process's own wake, which came after both commits, makes its workers claim (one for other
 * queues finds those jobs at its poll).
 */
import { randomInt } from 'node:crypto';
import { closeSync, futimesSync, openSync, statSync, watch, type FSWatcher } from 'node:fs';

// Access times that tag a touch's process: whole seconds (file systems keep at least those) in a range
// no clock or reader of this file sets, distinct between processes but for a one-in-a-million draw.
const TAG_BASE_S = 1_000_000_000;
const TAGS = 1_000_000;

/** The wake file of one database, touched by this process's writes and watched for other processes'. */
export class WakeFile {
  // undefined: not opened yet; null: could not be opened, so this process no longer tries.
  private descriptor: number | null | undefined;
  private watcher: FSWatcher | undefined;
  private wakePending = false;
  /** The access time this process's touches set, in seconds. */
  private readonly tag = TAG_BASE_S + randomInt(TAGS);

  constructor(
    /** `<database file>-wake`. */
    readonly path: string,
  ) {}

  /** Tells the watchers (in every process on this database) that jobs became ready. */
  touch(): void {
    if (this.descriptor === null) return;
    try {
      this.descriptor ??= openSync(this.path, 'a');
      futimesSync(this.descriptor, this.tag, new Date());
    } catch {
      this.closeDescriptor();
      this.descriptor = null;
    }
  }

  /** Calls `wake` (at most once per turn of the event loop) when any process touches the file. */
  watch(wake: () => void): void {
    if (this.watcher !== undefined) return;
    try {
      // fs.watch needs the file to exist; 'a' creates it without truncating another process's.
      closeSync(openSync(this.path, 'a'));
      // Not persistent: a watch alone must not keep a process alive.
      this.watcher = watch(this.path, { persistent: false }, () => {
        if (this.wakePending) return;
        this.wakePending = true;
        setImmediate(() => {
          this.wakePending = false;
          if (!this.touchedLastHere()) wake();
        });
      });
      // A watch that fails later (the file removed, the watch limit reached) ends; the poll goes on.
      this.watcher.on('error', () => this.unwatch());
    } catch {
      this.unwatch();
    }
  }

  /** Stops watching and closes the descriptor. */
  close(): void {
    this.unwatch();
    this.closeDescriptor();
    this.descriptor = undefined;
  }

  /** Whether the file's last touch was this process's (its tag); false when that cannot be read. */
  private touchedLastHere(): boolean {
    try {
      return statSync(this.path).atimeMs === this.tag * 1000;
    } catch {
      return false;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private closeDescriptor(): void {
    if (typeof this.descriptor !== 'number') return;
    try {
      closeSync(this.descriptor);
    } catch {
      // Already closed: nothing left to release.
    }
  }
}
