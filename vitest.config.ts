import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file gets its own process so a crashing store or a leaked worker cannot poison another file.
    pool: 'forks',
    // Two cores: more parallel files only add contention and make timing-sensitive tests noisy.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
