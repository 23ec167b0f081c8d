// The IR and its passes depend on no backend: backends import the IR (and collect its ops'
// lowerings in backends/<target>/ops/), never the reverse. This reads every source file under
// src/ir/ and src/passes/ and fails on any module specifier that resolves into backends/, so the
// layering cannot regress silently.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BACKENDS = join(ROOT, 'backends');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|cts|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

// Static imports and re-exports (`from '...'`), side-effect imports (`import '...'`), dynamic
// `import('...')` and `require('...')`: every way a module can name another.
const SPECIFIER = /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]/g;

/** The specifiers in `source` (a file at `file`) that name a module under backends/. */
function backendImports(file: string, source: string): string[] {
  const hits: string[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = spec.startsWith('.') ? resolve(dirname(file), spec) : spec;
    const intoBackends = spec.startsWith('.')
      ? target === BACKENDS || target.startsWith(BACKENDS + sep)
      : /(^|\/)backends(\/|$)/.test(spec);
    if (intoBackends) hits.push(spec);
  }
  return hits;
}

describe('the IR depends on no backend', () => {
  it('finds backend imports when they are there (the scanner is not vacuous)', () => {
    const file = join(ROOT, 'src/ir/ops/example.ts');
    const source = [
      "import type { WgslLowering } from '../../../backends/webgpu/lowering.ts';",
      "export { ONNX_LOWERINGS } from '../../../backends/onnx/lowerings.ts';",
      "const m = await import('../../../backends/webgpu/index.ts');",
      "import '../../../backends/onnx/emitter.ts';",
      "import { dimAdd } from '../dims.ts';",
      "import { describe } from 'vitest';",
    ].join('\n');
    expect(backendImports(file, source)).toEqual([
      '../../../backends/webgpu/lowering.ts',
      '../../../backends/onnx/lowerings.ts',
      '../../../backends/webgpu/index.ts',
      '../../../backends/onnx/emitter.ts',
    ]);
  });

  it('no file under src/ir/ or src/passes/ imports from backends/', () => {
    const files = [...sourceFiles(join(ROOT, 'src/ir')), ...sourceFiles(join(ROOT, 'src/passes'))];
    // The registry, the graph and the op families at least: an empty walk would pass vacuously.
    expect(files.map((f) => relative(ROOT, f).split(sep).join('/'))).toEqual(
      expect.arrayContaining(['src/ir/registry.ts', 'src/ir/graph.ts', 'src/ir/ops/matmul.ts']),
    );
    const offenders = files.flatMap((file) =>
      backendImports(file, readFileSync(file, 'utf8')).map((spec) => `${relative(ROOT, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});
