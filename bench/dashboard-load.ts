/**
 * The dashboard's first load: bytes of the page's assets (sent uncompressed) and the time from
 * navigation to the first render of the overview's queue table with real data, in Debian's Chromium
 * (playwright-core, no downloaded browser), against `nightshift serve`'s server on a SQLite file holding
 * `--jobs` jobs in 10 queues. Run `npm run build` first (the page is served from dist/dashboard).
 *
 *   node --import tsx bench/dashboard-load.ts [--jobs 10000] [--loads 10]
 *
 * Each load uses a new browser context (empty cache). Prints the median and slowest of `--loads`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer } from '../src/api/server.js';
import { issueToken } from '../src/api/tokens.js';
import { createLogger } from '../src/logger.js';
import { Nightshift } from '../src/nightshift.js';
import { launchChromium } from '../test/dashboard/browser.js';

const { values: args } = parseArgs({
  options: { jobs: { type: 'string', default: '10000' }, loads: { type: 'string', default: '10' } },
});
const jobs = Number(args.jobs);
const loads = Number(args.loads);

const dir = mkdtempSync(join(tmpdir(), 'nightshift-dashboard-load-'));
const ns = await Nightshift.connect({
  db: `sqlite:${join(dir, 'bench.db')}`,
  tasks: { noop: () => undefined },
  logger: createLogger({ level: 'silent' }),
});
for (let start = 0; start < jobs; start += 1000) {
  const items = Array.from({ length: Math.min(1000, jobs - start) }, (_, i) => ({
    task: 'noop',
    payload: { n: start + i },
    options: { queue: `queue-${(start + i) % 10}` },
  }));
  await ns.untyped.enqueueMany(items);
}
const { secret } = await issueToken(ns.store, { name: 'bench', role: 'viewer' });
const server = await startApiServer({ ns, host: '127.0.0.1', port: 0 });
const url = `${server.url}/#token=${encodeURIComponent(secret)}`;

const browser = await launchChromium();
const times: number[] = [];
let bytes = 0;
for (let i = 0; i < loads; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const assetSizes: Array<Promise<number>> = [];
  page.on('requestfinished', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/')) return;
    assetSizes.push(request.sizes().then((sizes) => sizes.responseBodySize));
  });
  const started = performance.now();
  await page.goto(url);
  await page
    .getByRole('table', { name: 'Queues' })
    .getByRole('row', { name: /queue-9/ })
    .waitFor();
  times.push(performance.now() - started);
  // The page keeps its event stream open, so it never goes network-idle: the assets are all loaded once
  // the table rendered.
  bytes = (await Promise.all(assetSizes)).reduce((sum, size) => sum + size, 0);
  await context.close();
}
await browser.close();
await server.app.close();
await ns.close();
rmSync(dir, { recursive: true, force: true });

times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? 0;
console.log(`dashboard first load, ${jobs} jobs in 10 queues, ${loads} loads, new context each:`);
console.log(`  page assets (HTML, JS, CSS): ${(bytes / 1024).toFixed(1)} KiB`);
console.log(
  `  navigation to queue table rendered: median ${median.toFixed(0)} ms, slowest ${(times.at(-1) ?? 0).toFixed(0)} ms`,
);
