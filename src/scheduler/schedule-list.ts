/**
 * The options of `ns.schedules.list()` and its page cursors, apart from the service so that the CLI
 * checks its flags with them before it opens a database, without loading the scheduler.
 */
import { NightshiftError } from '../errors.js';
import { SCHEDULE_CONDITIONS, type ScheduleCondition } from '../schedule-types.js';
import type { ScheduleListParams } from '../store/store.js';
import { MAX_SCHEDULE_ID_LENGTH } from './validate.js';
import { intIn, MAX_NAME_BYTES, MAX_PAGE, textIn } from '../validation/bounds.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';

/** Filters and paging of `ns.schedules.list()`. */
export interface ScheduleListOptions {
  /** Only schedules of this task. */
  task?: string;
  /** Only `active`, `paused` or `suspended` schedules (see `ScheduleCondition`). */
  state?: ScheduleCondition;
  /** Only ids starting with this text (case-sensitive): one tenant's schedules, say. */
  idPrefix?: string;
  /** Schedules per page. Default 50, at most 1,000. */
  limit?: number;
  /** The previous page's `nextCursor`. */
  cursor?: string;
}

const LIST_OPTION_NAMES = keyNames<ScheduleListOptions>({
  task: true,
  state: true,
  idPrefix: true,
  limit: true,
  cursor: true,
});
/**
 * `schedules.list`'s options checked and read as the store's filters, without the store: the CLI checks
 * its flags with it before it opens a database.
 */
export function scheduleListParams(params: ScheduleListOptions): ScheduleListParams {
  refuseUnknownKeys(params, LIST_OPTION_NAMES, 'schedule list option');
  const limit = intIn('limit', params.limit ?? 50, [1, MAX_PAGE]);
  if (params.state !== undefined && !SCHEDULE_CONDITIONS.includes(params.state)) {
    throw new NightshiftError(
      'invalid_argument',
      `state must be one of ${SCHEDULE_CONDITIONS.join(', ')}, got ${JSON.stringify(params.state)}`,
    );
  }
  return {
    limit,
    ...(params.cursor !== undefined && { afterId: decodeCursor(params.cursor) }),
    // A filter of the wrong type would list an empty page, or fail in the driver.
    ...(params.task !== undefined && { task: textIn('task', params.task, MAX_NAME_BYTES) }),
    ...(params.state !== undefined && { condition: params.state }),
    ...(params.idPrefix !== undefined && {
      idPrefix: textIn('idPrefix', params.idPrefix, MAX_SCHEDULE_ID_LENGTH),
    }),
  };
}

/** Page cursors are the last id, base64url-encoded so callers treat them as opaque. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): string {
  if (typeof cursor !== 'string') {
    throw new NightshiftError(
      'invalid_argument',
      `cursor must be a previous page's nextCursor, got ${typeof cursor}`,
    );
  }
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (id === '' || encodeCursor(id) !== cursor) {
    throw new NightshiftError('invalid_argument', 'invalid schedule list cursor');
  }
  return id;
}
