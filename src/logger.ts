/**
 * Structured logging. nightshift logs through pino because it is cheap on the hot path (a disabled
 * level costs a property read) and its child loggers carry job fields without string building.
 *
 * Default: level from `NIGHTSHIFT_LOG_LEVEL`, else `info`, JSON lines on stdout. Pass your own pino
 * logger (or `createLogger({ level: 'silent' })` in tests) to `Nightshift.connect`.
 */
import { pino } from 'pino';
import { keyNames, refuseUnknownKeys } from './validation/known-keys.js';

/** The logger type nightshift accepts and hands to handlers (a pino logger). */
export type Logger = pino.Logger;

const OPTION_NAMES = keyNames<{ level?: string }>({ level: true });

/** Creates nightshift's default logger; a misspelt option is refused rather than logging at `info`. */
export function createLogger(options: { level?: string } = {}): Logger {
  refuseUnknownKeys(options, OPTION_NAMES, 'logger option');
  return pino({ name: 'nightshift', level: options.level ?? process.env.NIGHTSHIFT_LOG_LEVEL ?? 'info' });
}
