/**
 * The body of the SQLite checkpointer thread (checkpointer.ts): its own connection to the store's
 * file, running a PASSIVE checkpoint each time the main thread asks, and answering when it is done.
 * PASSIVE copies what it can of the write-ahead log into the database file without waiting for
 * readers or writers, so the store's connection keeps committing meanwhile; the writer after a
 * complete checkpoint starts the log from its beginning again.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointCommand, CheckpointReport } from './checkpointer.js';

const port = parentPort;
if (!port) throw new Error('checkpoint-thread must run as a worker thread');
const { filename } = workerData as { filename: string };

const db = new Database(filename, { fileMustExist: true });
// A checkpoint that meets another in progress answers busy at once: the next request tries again.
db.pragma('busy_timeout = 0');
// As the store's connection: the checkpoint syncs the log before copying it and the file after.
db.pragma('synchronous = NORMAL');

const report = (message: CheckpointReport): void => port.postMessage(message);

port.on('message', (command: CheckpointCommand) => {
  if (command === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    // Its answer (busy, log frames, frames copied) tells nothing the next request needs: a busy or
    // partial checkpoint is simply followed by another.
    db.pragma('wal_checkpoint(PASSIVE)');
    report({ type: 'done' });
  } catch (error) {
    report({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
});
