/** The store conformance suite on SqliteStore. */
import { describeStoreConformance } from './conformance/store-conformance.js';
import { sqliteHarness } from './support/sqlite-harness.js';

describeStoreConformance('sqlite', sqliteHarness());
