import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: suites against real third-party software installed on the machine (Debian's
 * WordPress under php -S, MariaDB). One file at a time: each starts a whole site and a whole Veil.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
