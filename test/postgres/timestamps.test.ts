/**
 * The store's fast timestamptz parser against node-postgres's own, on real server output in several
 * session time zones (whole-hour, half-hour and historical second-level offsets), edge years and
 * infinity.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from '../../src/store/postgres/pool.js';
import { withAdmin } from '../support/postgres-harness.js';

const reference = pg.types.getTypeParser(1184, 'text') as (text: string) => Date;

const VALUES = [
  `now()`,
  `'2026-03-29 01:30:00.123456+00'`,
  `'2026-10-25 00:59:59.999999+00'`,
  `'1999-12-31 23:59:59+00'`,
  `'1850-06-01 12:00:00+00'`,
  `'0044-03-15 10:00:00+00 BC'`,
  `'9999-12-31 23:59:59.5+00'`,
  `'infinity'`,
  `'-infinity'`,
];

describe('PostgreSQL timestamptz parsing', () => {
  it('matches node-postgres on every server output it sees', async () => {
    const texts = await withAdmin(async (client) => {
      const out: string[] = [];
      for (const zone of ['UTC', 'Asia/Kolkata', 'America/Los_Angeles', 'Europe/Amsterdam']) {
        await client.query(`SET TimeZone = '${zone}'`);
        const { rows } = await client.query<{ t: string }>(
          `SELECT t::text AS t FROM (VALUES ${VALUES.map((v) => `(${v}::timestamptz)`).join(', ')}) AS v(t)`,
        );
        out.push(...rows.map((r) => r.t));
      }
      return out;
    });
    // The 1850 value in Amsterdam has a local-mean-time offset with seconds: the fallback path.
    expect(texts.some((t) => /[+-]\d\d:\d\d:\d\d$/.test(t))).toBe(true);
    for (const text of texts) {
      const fast = parseTimestamptz(text);
      const slow = reference(text);
      expect(fast.valueOf(), text).toBe(slow.valueOf());
    }
  });
});
