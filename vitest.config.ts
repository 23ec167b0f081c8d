import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The reference interpreter and SwiftShader are slow on 2 cores; keep per-test budgets generous.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
