/**
 * An idle worker in its own process with every default, started by `startChild` (child-process.ts):
 *   postgres-worker-child <url> <schema>
 * Prints `ready` once its worker has started; stops when its stdin ends.
 */
import { Nightshift } from '../../src/nightshift.js';
import { createLogger } from '../../src/logger.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';

const [url, schema] = process.argv.slice(2);
if (!url || !schema) throw new Error('usage: postgres-worker-child <url> <schema>');

const store = await PostgresStore.open({ connectionString: url, schema });
const ns = await Nightshift.connect({
  db: store,
  logger: createLogger({ level: 'silent' }),
  tasks: { noop: () => null },
});
ns.events.on('worker:started', () => process.stdout.write('ready\n'));
ns.startWorker();
process.stdin.resume();
process.stdin.on('end', () => {
  void ns.close().then(() => store.close());
});
