import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: lab tests start real processes, so keep files at most two wide.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
