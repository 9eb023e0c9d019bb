/**
 * The store conformance suite on PostgresStore through PgBouncer 1.18 in transaction pooling mode
 * (`pooler=transaction`, LISTEN direct): every store operation, migrations included, works through it.
 */
import { describe } from 'vitest';
import { describeStoreConformance } from './conformance/store-conformance.js';
import { postgresHarness } from './support/postgres-harness.js';
import { pgbouncerUnavailable } from './support/pgbouncer.js';

const unavailable = pgbouncerUnavailable();
if (unavailable === null)
  describeStoreConformance('postgres via pgbouncer', postgresHarness('bnc', 'pgbouncer'));
else describe.skip(`postgres via pgbouncer (${unavailable})`, () => undefined);
