/**
 * The CLI's logger: pino, writing to stderr so that stdout carries only a command's result (ids,
 * tables, `--json`). A terminal gets one readable line per record; anything else (a pipe, a file, a log
 * shipper) gets pino's JSON lines unchanged.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { serializeError } from '../logger.js';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields pino adds to every record; the human format shows them in its own way or not at all. */
const BUILT_IN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

let processLogger: Logger | undefined;

/** The one logger of this CLI process, created on first use. */
export function cliLogger(): Logger {
  processLogger ??= createLogger();
  return processLogger;
}

/** Creates a logger. `NIGHTSHIFT_LOG_LEVEL` sets the level (default `info`). */
export function createLogger(options: { human?: boolean } = {}): Logger {
  const level = process.env['NIGHTSHIFT_LOG_LEVEL'] ?? 'info';
  const human = options.human ?? process.stderr.isTTY;
  const serializers = { err: serializeError };
  if (!human) {
    return pino({ level, base: { pid: process.pid }, serializers }, pino.destination({ fd: 2, sync: true }));
  }
  return pino({ level, base: null, serializers }, humanStream(process.stderr));
}

/** Formats pino's JSON lines as `12:00:01.042 INFO  message key=value`, for people at a terminal. */
export function humanStream(out: { write(text: string): unknown }): DestinationStream {
  return {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      out.write(formatRecord(record) + '\n');
    },
  };
}

function formatRecord(record: Record<string, unknown>): string {
  const time = typeof record['time'] === 'number' ? new Date(record['time']).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[Number(record['level'])] ?? 'LOG').padEnd(5);
  const message = typeof record['msg'] === 'string' ? record['msg'] : '';
  const fields = Object.entries(record)
    .filter(([key]) => !BUILT_IN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return [time, level, message, ...fields].filter((part) => part !== '').join(' ');
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value && 'stack' in value) {
    return JSON.stringify((value as { message: unknown }).message);
  }
  return JSON.stringify(value) ?? String(value);
}
