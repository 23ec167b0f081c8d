// Preloaded with `node --import` (after tsx's), this records every module the process loads into
// the file named by RHC_LOAD_TRACE, one file: URL a line: each ES module as it is resolved (the
// hooks in load-trace-hooks.mjs), and at exit every CommonJS module in require's cache (a
// package required with createRequire never passes through the ES module hooks).
// test/cli/startup.test.ts reads it to see which packages a command loaded.

import * as fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const out = process.env.RHC_LOAD_TRACE;
if (!out) throw new Error('load-trace.mjs: set RHC_LOAD_TRACE to the file to write');
fs.writeFileSync(out, '');
register('./load-trace-hooks.mjs', import.meta.url, { data: { out } });
process.on('exit', () => {
  const cached = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.startsWith('/'));
  fs.appendFileSync(out, cached.map((k) => pathToFileURL(k).href + '\n').join(''));
});
