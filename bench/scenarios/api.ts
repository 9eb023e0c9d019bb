/** The REST API's overhead per enqueue against the library's (../api.ts; alone: `npm run bench:api`). */
import { formatApiBench, runApiBench } from '../api.js';
import type { Scenario } from '../scenario.js';

export const apiScenario: Scenario = {
  name: 'api',
  inDefaultRun: true,
  async run({ log }) {
    const rows = await runApiBench(log);
    return [
      {
        title: 'POST /api/v1/jobs against ns.enqueue (nightshift only)',
        notes: formatApiBench(rows).split('\n'),
        header: [],
        rows: [],
      },
    ];
  },
};
