/** Every benchmarked system, in the order the run measures and prints them. */
import type { BenchSystem } from '../system.js';
import { bullmqSystem } from './bullmq.js';
import { graphileWorkerSystem } from './graphile-worker.js';
import { nightshiftPgbouncerSystem, nightshiftPostgresSystem, nightshiftSqliteSystem } from './nightshift.js';
import { pgBossSystem } from './pg-boss.js';

/** nightshift's backends first, then its peers. */
export const SYSTEMS: readonly BenchSystem[] = [
  nightshiftPostgresSystem,
  nightshiftPgbouncerSystem,
  nightshiftSqliteSystem,
  graphileWorkerSystem,
  pgBossSystem,
  bullmqSystem,
];
