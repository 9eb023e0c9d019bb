/**
 * Structured logging. nightshift logs through pino because it is cheap on the hot path (a disabled
 * level costs a property read) and its child loggers carry job fields without string building.
 *
 * Default: level from `NIGHTSHIFT_LOG_LEVEL`, else `info`, JSON lines on stdout. Pass your own pino
 * logger (or `createLogger({ level: 'silent' })` in tests) to `Nightshift.connect`.
 */
import { pino } from 'pino';
import { NightshiftError } from './errors.js';
import { keyNames, refuseUnknownKeys } from './validation/known-keys.js';

/** The logger type nightshift accepts and hands to handlers (a pino logger). */
export type Logger = pino.Logger;

const OPTION_NAMES = keyNames<{ level?: string }>({ level: true });

/** Creates nightshift's default logger; a misspelt option is refused rather than logging at `info`. */
export function createLogger(options: { level?: string } = {}): Logger {
  refuseUnknownKeys(options, OPTION_NAMES, 'logger option');
  return pino({
    name: 'nightshift',
    level: options.level ?? process.env.NIGHTSHIFT_LOG_LEVEL ?? 'info',
    serializers: { err: serializeError },
  });
}

/**
 * pino's error serializer, without repeating what the error's message already says. pino appends each
 * cause's message to the error's; nightshift's errors quote their cause (`PostgreSQL is unavailable:
 * connect ECONNREFUSED 127.0.0.1:5432`, the driver's error as `cause`), so each line said it twice.
 * A cause the message does not quote is still appended, the stack keeps every cause.
 */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error);
  if (!(error instanceof Error)) return serialized;
  let message = error.message;
  const seen = new Set<unknown>([error]);
  for (let cause = error.cause; cause instanceof Error && !seen.has(cause); cause = cause.cause) {
    seen.add(cause);
    if (cause.message !== '' && !message.includes(cause.message)) message += `: ${cause.message}`;
  }
  serialized.message = message;
  return serialized;
}

// What nightshift and handlers call on a logger: pino's level methods and `child`.
const LOGGER_METHODS = ['child', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/**
 * Refuses what cannot log: `{ level: 'silent' }` given where a logger goes would otherwise be taken,
 * and the first worker would fail on its first line instead of connect on its options.
 */
export function checkLogger(
  logger: unknown,
  code: 'invalid_argument' | 'config_error' = 'invalid_argument',
): asserts logger is Logger {
  const missing =
    typeof logger === 'object' && logger !== null
      ? LOGGER_METHODS.filter((method) => typeof (logger as Record<string, unknown>)[method] !== 'function')
      : LOGGER_METHODS;
  if (missing.length > 0) {
    throw new NightshiftError(
      code,
      `logger must be a pino logger (no ${missing.join(', ')} method); for a quiet one pass createLogger({ level: 'silent' })`,
    );
  }
}
