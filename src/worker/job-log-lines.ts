/**
 * The bounds of stored job log lines, applied where a handler calls `ctx.log`, so neither a chatty
 * handler nor one huge line can fill the database: at most MAX_LOG_LINES_PER_ATTEMPT lines per
 * attempt (the rest are counted, and one `warn` line says how many were dropped), each line's message
 * at most MAX_LOG_LINE_BYTES of UTF-8 and its data at most MAX_LOG_LINE_BYTES of JSON (larger data is
 * replaced by `{ "truncated": true, "bytes": <size> }`). Data is encoded when it is logged, so a
 * handler that changes the object afterwards does not change the stored line.
 */
import type { JobLogLevel } from '../job.js';
import type { NewJobLogLine } from '../store/store.js';

/** Lines stored per attempt, besides the one "lines dropped" marker. */
export const MAX_LOG_LINES_PER_ATTEMPT = 200;
/** Bytes of a line's message (UTF-8), and separately of its data (JSON). */
export const MAX_LOG_LINE_BYTES = 4096;

/** What is counted of one attempt's lines. */
export interface AttemptLogCount {
  jobId: string;
  attempt: number;
  /** Lines accepted so far (the next line's seq). */
  lines: number;
  /** Lines refused over the limit. */
  dropped: number;
}

/** The line to store for `message` and `data`, or null when the attempt already has its limit. */
export function boundedLine(
  count: AttemptLogCount,
  message: string,
  data: Record<string, unknown> | undefined,
  at: Date,
): NewJobLogLine | null {
  if (count.lines >= MAX_LOG_LINES_PER_ATTEMPT) {
    count.dropped += 1;
    return null;
  }
  return makeLine(count, 'info', message, data === undefined ? null : encodeData(data), at);
}

/** The marker that closes an attempt whose lines went over the limit, or null when none did. */
export function droppedMarker(count: AttemptLogCount, at: Date): NewJobLogLine | null {
  if (count.dropped === 0) return null;
  const text = `${count.dropped} lines dropped (at most ${MAX_LOG_LINES_PER_ATTEMPT} lines are kept per attempt)`;
  return makeLine(count, 'warn', text, JSON.stringify({ dropped: count.dropped }), at);
}

function makeLine(
  count: AttemptLogCount,
  level: JobLogLevel,
  message: string,
  data: string | null,
  at: Date,
): NewJobLogLine {
  const seq = count.lines;
  count.lines += 1;
  return { jobId: count.jobId, attempt: count.attempt, seq, at, level, message: boundText(message), data };
}

/**
 * The message as text both databases store alike: NUL (refused by PostgreSQL text) and lone
 * surrogates (UTF-8 cannot carry them: PostgreSQL's driver stored one U+FFFD, SQLite three) become
 * U+FFFD, and the text is cut to MAX_LOG_LINE_BYTES of UTF-8 on a character boundary.
 */
function boundText(message: unknown): string {
  const text = (typeof message === 'string' ? message : String(message))
    .replaceAll('\u0000', '\uFFFD')
    .toWellFormed();
  // Most messages are short: a UTF-8 character is at most 3 bytes per UTF-16 unit.
  if (text.length * 3 <= MAX_LOG_LINE_BYTES) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_LOG_LINE_BYTES) return text;
  let end = MAX_LOG_LINE_BYTES;
  // Back up over continuation bytes (10xxxxxx) so the cut falls between characters.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return `${bytes.subarray(0, end).toString('utf8')}…`;
}

/**
 * The data as JSON text both databases accept, bounded. Escaped NUL and lone surrogates (refused by
 * PostgreSQL's json input) become U+FFFD; data JSON cannot encode (a cycle, a BigInt) is described.
 */
function encodeData(data: Record<string, unknown>): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (error) {
    return JSON.stringify({ unserializable: error instanceof Error ? error.message : String(error) });
  }
  if (text === undefined) return 'null';
  text = text.replace(/\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, '\\ufffd');
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes <= MAX_LOG_LINE_BYTES ? text : JSON.stringify({ truncated: true, bytes });
}
