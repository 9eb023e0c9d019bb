/**
 * vitest setup file (vitest.config.ts): when a test file ends, drops the migrated schemas the
 * PostgreSQL harness kept for reuse (postgres-schema-pool.ts). It finds the pool through a global name
 * the pool sets when loaded, so a file that never touched PostgreSQL does not load the driver.
 */
import { afterAll } from 'vitest';

afterAll(async () => {
  const drop = (globalThis as { [key: symbol]: (() => Promise<void>) | undefined })[
    Symbol.for('nightshift.test.dropIdleSchemas')
  ];
  await drop?.();
});
