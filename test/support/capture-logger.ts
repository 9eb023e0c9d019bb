/** A logger whose output a test reads back. */
import { pino } from 'pino';

/** A pino logger at the most verbose level whose JSON lines are kept in `lines`. */
export function captureLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}
