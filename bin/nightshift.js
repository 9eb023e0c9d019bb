#!/usr/bin/env node
// Runs the compiled CLI. dist/ is built by `npm run build`, which `npm ci` / `npm install` run through
// the "prepare" script, so a fresh clone has it after installing.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('nightshift: dist/ is missing; run `npm run build` (npm ci and npm install do it)\n');
  process.exit(1);
}
await import(main.href);
