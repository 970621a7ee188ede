import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Temporal's native bridge and the servers the tests spawn want real processes.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-runtime.ts'],
    reporters: ['default'],
  },
});
