#!/usr/bin/env node
// Entry point for `rhc`: the compiled CLI in dist/ (`npm run build`; `prepare` runs it, so
// `npm ci` in a clone builds it, and the published package ships it).
// RHC_FROM_SOURCE=1 runs the TypeScript sources through tsx instead (a development dependency):
// vitest.config.ts sets it, so the tests that spawn this file test src/, not a build of it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
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
  warnIfStale(main);
  await import(main.href);
}

/**
 * In a checkout (src/ beside dist/; the package ships no src/), a build older than a source
 * would run yesterday's compiler without a word: say so. A stat per source file, a few ms.
 */
function warnIfStale(main) {
  const root = new URL('..', import.meta.url);
  if (!existsSync(new URL('src', root))) return;
  const built = statSync(main).mtimeMs;
  const newer = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const found = e.isDirectory() ? newer(p) : e.name.endsWith('.ts') && statSync(p).mtimeMs > built ? p : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const changed = ['src', 'backends'].map((d) => fileURLToPath(new URL(d, root))).filter((d) => existsSync(d)).map(newer).find(Boolean);
  if (changed) process.stderr.write(`warning: ${path.relative(process.cwd(), changed)} changed after the build in dist/: run \`npm run build\` (or set RHC_FROM_SOURCE=1 to run the sources)\n`);
}
