/** The store conformance suite on PostgresStore, against the real PostgreSQL test database. */
import { describeStoreConformance } from './conformance/store-conformance.js';
import { postgresHarness } from './support/postgres-harness.js';

describeStoreConformance('postgres', postgresHarness());
