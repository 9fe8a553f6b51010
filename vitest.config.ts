import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: end-to-end files spawn the CLI and a simulator each; more workers only add contention.
    maxWorkers: 2,
    // Real sockets and nock must not share a worker's global state across files.
    isolate: true,
  },
});
