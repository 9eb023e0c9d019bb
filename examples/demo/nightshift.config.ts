/**
 * The demo's config: two tasks, the morning batch's schedule (paused) and a worker setting. `nightshift start --demo` (or `npm run demo`)
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
  // The export as the shop runs it every morning, paused so the demo exports once. Trigger on the
  // dashboard's Schedules page (or `nightshift schedules trigger morning-export --config` with this
  // file) runs another morning's export now, with its own message per order.
  schedules: [
    {
      id: 'morning-export',
      task: 'orders.export',
      cron: '0 6 * * *',
      timezone: 'Europe/London',
      payload: { orders: 3_000 },
      overlap: 'skip',
      catchUp: 'latest',
      paused: true,
    },
  ],
  // A 5 s lease (default 30 s) so that after a kill -9 the rerun picks the export up again quickly.
  worker: { concurrency: 8, leaseMs: 5_000, graceMs: 10_000 },
});
