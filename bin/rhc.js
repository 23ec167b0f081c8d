#!/usr/bin/env node
// Entry point for `rhc`: the compiled CLI in dist/ (`npm run build`; `prepare` runs it, so
// `npm ci` in a clone builds it, and the published package ships it).
// RHC_FROM_SOURCE=1 runs the TypeScript sources through tsx instead (a development dependency):
// vitest.config.ts sets it, so the tests that spawn this file test src/, not a build of it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

if (process.env.RHC_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  const main = new URL('../dist/src/cli/main.js', import.meta.url);
  if (!existsSync(main)) {
    process.stderr.write(`error: rhc is not built (${fileURLToPath(main)} is missing): run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))}\n`);
    process.exit(70);
  }
  await import(main.href);
}
