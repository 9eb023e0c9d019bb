/**
 * The store conformance suite: every behaviour the engine relies on, written once against the
 * `Store` interface and run unchanged by every backend with its own `StoreHarness`:
 *
 *   describeStoreConformance('sqlite', sqliteHarness());
 */
import { afterEach, describe } from 'vitest';
import type { StoreHarness } from '../support/store-harness.js';
import { describeApiTokens } from './api-tokens.js';
import { describeBulk } from './bulk.js';
import { describeClaim } from './claim.js';
import { describeConcurrencyKeys } from './concurrency-keys.js';
import { describeControl } from './control.js';
import { describeDueReads } from './due-reads.js';
import { describeEventLog } from './event-log.js';
import { describeEvents } from './events.js';
import { describeFairGroups } from './fair-groups.js';
import { describeFinish } from './finish.js';
import { describeFinishTable } from './finish-table.js';
import { describeInsert } from './insert.js';
import { describeLease } from './lease.js';
import { describeMaintenance } from './maintenance.js';
import { describeQueueLimits } from './queue-limits.js';
import { describeQueueRates } from './queue-rates.js';
import { describeQueueThrottle } from './queue-throttle.js';
import { describeRead } from './read.js';
import { describeSchema } from './schema.js';
import { describeTransaction } from './transaction.js';
import { describeSchedules } from './schedules.js';
import { describeWorkerLabels } from './worker-labels.js';
import { describeWorkers } from './workers.js';

/** Registers the whole conformance suite for one backend. */
export function describeStoreConformance(name: string, harness: StoreHarness): void {
  describe(`Store conformance: ${name}`, () => {
    afterEach(() => harness.close());
    describeSchema(harness);
    describeInsert(harness);
    describeRead(harness);
    describeDueReads(harness);
    describeClaim(harness);
    describeConcurrencyKeys(harness);
    describeQueueLimits(harness);
    describeQueueRates(harness);
    describeWorkerLabels(harness);
    describeWorkers(harness);
    describeQueueThrottle(harness);
    describeFairGroups(harness);
    describeLease(harness);
    describeFinish(harness);
    describeFinishTable(harness);
    describeControl(harness);
    describeMaintenance(harness);
    describeEvents(harness);
    describeEventLog(harness);
    describeTransaction(harness);
    describeSchedules(harness);
    describeBulk(harness);
    describeApiTokens(harness);
  });
}
