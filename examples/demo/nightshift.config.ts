/**
 * The demo's config: two tasks and a worker setting. `nightshift start --demo` (or `npm run demo`)
 * loads it; so does `nightshift worker --config examples/demo/nightshift.config.ts`.
 */
// In your own project: import { defineConfig } from 'nightshift';
import { defineConfig } from '../../src/config.js';
import { exportOrders } from './export-orders.js';
import { publishOrderMessage } from './publish-order-message.js';

export default defineConfig({
  db: 'sqlite:./nightshift-demo.db',
  tasks: {
    'orders.export': exportOrders,
    'orders.publish': publishOrderMessage,
  },
  // A 5 s lease (default 30 s) so that after a kill -9 the rerun picks the export up again quickly.
  worker: { concurrency: 8, leaseMs: 5_000, graceMs: 10_000 },
});
