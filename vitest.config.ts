import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts a Kafka broker and a private Redis when none answers, and stops only those (npm test on a fresh clone).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: two test files at a time keeps the Kafka and Redis suites from starving each other.
    maxWorkers: 2,
    pool: 'forks',
  },
});
