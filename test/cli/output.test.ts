/** What people read: aligned tables and one-line log records in a terminal. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { humanStream } from '../../src/cli/logger.js';
import { renderTable } from '../../src/cli/output.js';

describe('human output', () => {
  it('aligns table columns under their headers and prints - for empty cells', () => {
    const text = renderTable(
      ['ID', 'STATE', 'ERROR'],
      [
        ['a', 'queued', null],
        ['a-much-longer-id', 'failed', 'boom'],
      ],
    );
    expect(text).toBe(
      [
        'ID                STATE   ERROR',
        'a                 queued  -',
        'a-much-longer-id  failed  boom',
        '',
      ].join('\n'),
    );
  });

  it('formats a log record as time, level, message and key=value fields, errors by their message', () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info', base: null },
      humanStream({ write: (text: string) => lines.push(text) }),
    );
    logger.warn({ jobId: 'j1', attempt: 2, note: 'two words', err: new Error('broker down') }, 'job failed');
    logger.debug('not shown at info');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d{2}:\d{2}:\d{2}\.\d{3} WARN {2}job failed jobId=j1 attempt=2 note="two words" err="broker down"\n$/,
    );
  });
});
