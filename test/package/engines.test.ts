/**
 * nightshift declares the oldest Node it runs on (package.json `engines.node`); every package it
 * installs for production must run there too, or an application on that Node gets an npm
 * EBADENGINE warning, or worse, a dependency that does not load. Read from package-lock.json, the
 * tree `npm ci` installs; dev-only packages (the build, lint and test tools) are not shipped.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface LockedPackage {
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
  dependencies?: Record<string, string>;
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, LockedPackage>;
};

/** The oldest Node the project says it runs on. */
const oldestNode = semver.minVersion(manifest.engines.node);

describe('the production dependency tree', () => {
  it('declares a Node version range with a lowest version', () => {
    expect(oldestNode?.version).toMatch(/^20\./);
  });

  it('runs on the oldest Node the project declares', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.dev !== true)
      .flatMap(([path, entry]) => {
        // Old lockfile entries may carry the array form of engines, which npm never enforced.
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range === undefined || semver.satisfies(oldestNode!, range) ? [] : [`${path} (node ${range})`];
      });
    expect(refusing).toEqual([]);
  });

  // An application installing nightshift resolves fastify's own ranges afresh, where
  // light-my-request 6.8 (and its cookie 2, Node >= 22) would be picked; a pinned direct dependency
  // is placed beside fastify and used by it instead.
  it('pins light-my-request to the version fastify then uses in an application', () => {
    expect(manifest.dependencies['light-my-request']).toBe(
      lock.packages['node_modules/light-my-request']?.version,
    );
    expect(lock.packages['node_modules/fastify/node_modules/light-my-request']).toBeUndefined();
    const cookie = lock.packages['node_modules/cookie'];
    expect(semver.satisfies(oldestNode!, (cookie?.engines as { node: string }).node)).toBe(true);
  });
});
