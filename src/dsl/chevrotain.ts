// chevrotain's runtime values, for the lexer and the parser. Its package entry
// (lib/src/api.js) imports lodash-es function by function: about 640 modules and ~0.3 s before
// `rhc check` can lex a character. The package also ships the same release as one bundled ES
// module (lib/chevrotain.mjs, lodash inlined), which loads in ~10 ms; its exports map names only
// the entry, so the bundle is found beside the entry. Should a release move it, the entry is
// loaded instead: the same API, only slower (test/cli/startup.test.ts notices).
//
// Loaded with require (Node >= 20.19 requires ES modules without top-level await), not a
// top-level `await import`: where rhc is itself bundled by esbuild (bench/device/pack.sh),
// modules with top-level await and import cycles between them wait on each other forever, and
// there the literal require('chevrotain') is what esbuild bundles. Types come from 'chevrotain'.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as Chevrotain from 'chevrotain';

function load(): typeof Chevrotain {
  const req = createRequire(import.meta.url);
  let bundle: string | undefined;
  try {
    bundle = path.join(path.dirname(req.resolve('chevrotain')), '..', 'chevrotain.mjs'); // beside .../lib/src/api.js
  } catch {
    bundle = undefined; // no chevrotain on disk: rhc is bundled, chevrotain inside it
  }
  if (bundle !== undefined && fs.existsSync(bundle)) return req(bundle) as typeof Chevrotain;
  return (typeof require === 'function' ? require('chevrotain') : req('chevrotain')) as typeof Chevrotain;
}

export const { createToken, CstParser, EOF, Lexer } = load();
