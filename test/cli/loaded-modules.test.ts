/**
 * What a short command loads. Each module file costs a Node process time to find, read and link, and
 * the REST API's libraries are hundreds of files: a `--help` that pulled in the HTTP server through one
 * constant took 0.9 s instead of 0.25. A module hook in the CLI's process records every file it loads.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { compiledFile } from '../support/child-process.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
const db = `sqlite:${join(dir, 'jobs.db')}`;
const logFile = join(dir, 'loaded.txt');
// The hook runs on the loader's own thread: it appends each resolved file URL to the log file.
writeFileSync(
  join(dir, 'hooks.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.startsWith('file:')) appendFileSync(${JSON.stringify(logFile)}, resolved.url + '\\n');
  return resolved;
}
`,
);
writeFileSync(
  join(dir, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
);
const recording = { NODE_OPTIONS: `--import=${pathToFileURL(join(dir, 'register.mjs')).href}` };

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packages of node_modules whose files a run loaded. */
function loadedPackages(): Set<string> {
  const packages = new Set<string>();
  for (const url of readFileSync(logFile, 'utf8').split('\n')) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match?.[1] !== undefined) packages.add(match[1]);
  }
  rmSync(logFile);
  return packages;
}

/** The HTTP server's libraries, and PostgreSQL's driver. */
const SERVER_PACKAGES = ['fastify', '@fastify/swagger', '@fastify/static', 'typebox', 'ajv', 'ajv-formats'];

describe('a short command', () => {
  it('does not load the HTTP server, nor the PostgreSQL driver on SQLite', async () => {
    const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
    expect(migrated.code, migrated.stderr).toBe(0);
    for (const args of [['--help'], ['jobs', 'list', '--db', db], ['enqueue', 'echo', '--db', db]]) {
      const result = await runCli(args, { cwd: dir, env: recording });
      expect(result.code, result.stderr).toBe(0);
      const packages = loadedPackages();
      // The hook saw the run: the CLI's own argument parser is among what it loaded.
      expect(packages, args.join(' ')).toContain('commander');
      for (const name of [...SERVER_PACKAGES, 'pg']) expect(packages, args.join(' ')).not.toContain(name);
      if (args[0] !== '--help') expect(packages, args.join(' ')).toContain('better-sqlite3');
    }
  });

  it('importing the library does not load the HTTP server; importing nightshift/api does', () => {
    const imported = (source: string): Set<string> => {
      const script = join(dir, 'import.mjs');
      const url = pathToFileURL(compiledFile(new URL(source, import.meta.url))).href;
      writeFileSync(script, `await import(${JSON.stringify(url)});\n`);
      const run = spawnSync(process.execPath, [script], {
        cwd: dir,
        env: { ...process.env, ...recording },
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      return loadedPackages();
    };
    const library = imported('../../src/index.ts');
    expect(library).toContain('uuid');
    for (const name of SERVER_PACKAGES) expect(library).not.toContain(name);
    expect(imported('../../src/api/index.ts')).toContain('fastify');
  });
});
