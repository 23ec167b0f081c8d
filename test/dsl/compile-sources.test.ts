// compileModelFromSources (the page's way to lower a spec): the same graph as compileModel from
// files, and the loader's problems (missing, path-like or cyclic imports, oversized files) as
// diagnostics at the import rather than exceptions.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/dsl/compile.ts';
import { compileModelFromSources, type SpecReader } from '../../src/dsl/compile-sources.ts';
import { MAX_SPEC_BYTES } from '../../src/dsl/limits.ts';
import { printGraph } from '../../src/ir/printer.ts';
import { ROOT } from '../helpers/rh.ts';

const SPEC_DIR = path.join(ROOT, 'spec');
const fromSpecDir: SpecReader = async (name) => fs.readFileSync(path.join(SPEC_DIR, name), 'utf8');
const fromMap = (files: Record<string, string>): SpecReader => async (name) => {
  if (!Object.hasOwn(files, name)) throw new Error('HTTP 404 Not Found');
  return files[name];
};
const messages = (r: { diagnostics: { message: string; loc?: { file: string; line: number } }[] }) => r.diagnostics.map((d) => (d.loc ? `${d.loc.file}:${d.loc.line}: ${d.message}` : d.message));
const SMALL = [
  { name: 'n_layer', value: 2, origin: 'manifest.json', strict: false, exact: true },
  { name: 'n_embd', value: 32, origin: 'manifest.json', strict: false, exact: true },
  { name: 'n_head', value: 4, origin: 'manifest.json', strict: false, exact: true },
];

describe('compileModelFromSources', () => {
  it('lowers every seed spec to the graph compileModel lowers from its file', async () => {
    for (const spec of ['gp-norm', 'lr', 'gpt2-abs']) {
      const fromFiles = compileModel(path.join(SPEC_DIR, `${spec}.rh`), { overrides: SMALL });
      const fromSources = await compileModelFromSources(`${spec}.rh`, fromSpecDir, { overrides: SMALL });
      expect(messages(fromSources)).toEqual([]);
      expect(fromSources.graph!.config.n_layer).toBe(2);
      expect(printGraph(fromSources.graph!).replaceAll(SPEC_DIR + path.sep, '')).toBe(printGraph(fromFiles.graph!).replaceAll(SPEC_DIR + path.sep, ''));
    }
  });

  it('picks the named model and says which models there are', async () => {
    const files = { 'two.rh': `import "gpt2.rh"\nmodel a = GPT2LMHeadModel(Rope = NoRope)\nmodel b = GPT2LMHeadModel(Rope = NoRope)\n`, 'gpt2.rh': fs.readFileSync(path.join(SPEC_DIR, 'gpt2.rh'), 'utf8') };
    expect((await compileModelFromSources('two.rh', fromMap(files), { model: 'b', overrides: SMALL })).graph).toBeDefined();
    expect(messages(await compileModelFromSources('two.rh', fromMap(files), { model: 'c' }))).toEqual(["two.rh has no model 'c' (models: a, b)"]);
  });

  it('reports missing, path-like and cyclic imports and oversized files at the import', async () => {
    expect(messages(await compileModelFromSources('main.rh', fromMap({ 'main.rh': 'import "nowhere.rh"\n' })))).toEqual(['main.rh:1: cannot read spec nowhere.rh: HTTP 404 Not Found']);
    expect(messages(await compileModelFromSources('main.rh', fromMap({ 'main.rh': 'import "../secret.rh"\n' })))).toEqual([
      'main.rh:1: cannot load "../secret.rh": here specs are read by plain .rh file name from one directory',
    ]);
    expect(messages(await compileModelFromSources('a.rh', fromMap({ 'a.rh': 'import "b.rh"\n', 'b.rh': 'import "a.rh"\n' })))).toEqual(['b.rh:1: import cycle: a.rh -> b.rh -> a.rh']);
    const asked: number[] = [];
    const big: SpecReader = async (name, maxBytes) => {
      asked.push(maxBytes);
      if (name === 'big.rh') throw new Error(`${maxBytes + 1} bytes, more than the ${maxBytes} expected`);
      return 'import "big.rh"\n';
    };
    expect(messages(await compileModelFromSources('main.rh', big))).toEqual([`main.rh:1: cannot read spec big.rh: ${MAX_SPEC_BYTES + 1} bytes, more than the ${MAX_SPEC_BYTES} expected`]);
    expect(asked).toEqual([MAX_SPEC_BYTES, MAX_SPEC_BYTES]);
  });
});
