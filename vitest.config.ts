import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Generated modules (generated/*/model.ts, artifacts written under tmp/) import the runtime as
// 'rhc/webgpu', rhc's own package export. Inside this repository that names the package itself,
// and the `rhc-source` export condition (package.json's exports) points it at src/ rather than
// dist/: tests need no build, and a generated module shares the very modules the test imports.
// Vitest resolves tests' imports as Vite's ssr environment, hence ssr.resolve. tsconfig.json's
// customConditions does the same for tsc; tsx scripts take --conditions=rhc-source.
const SOURCE_CONDITION = 'rhc-source';

export default defineConfig({
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
  test: {
    // bin/rhc.js runs the TypeScript sources (through tsx) rather than dist/: the tests spawning the CLI test src/.
    env: { RHC_FROM_SOURCE: '1' },
    include: ['test/**/*.test.ts'],
    // The reference interpreter and SwiftShader are slow on 2 cores; keep per-test budgets generous.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
