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
  worker: { concurrency: 8, graceMs: 10_000 },
});
