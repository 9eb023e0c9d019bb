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

/** The system every ratio is taken against: the fastest peer in the runs so far. */
export const REFERENCE_PEER = graphileWorkerSystem.name;

/** Looks a system up by name; throws on an unknown one. */
export function systemNamed(name: string): BenchSystem {
  const system = SYSTEMS.find((s) => s.name === name);
  if (system === undefined) throw new Error(`unknown system ${name}`);
  return system;
}
