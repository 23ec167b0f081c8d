// README's "Library" example, run as it stands: its ```ts block is written to a fresh directory
// under tmp/ (inside rhc's tree, where 'rhc', 'rhc/webgpu' and 'rhc/node' name this package and
// the rhc-source condition picks the sources) and run by Node with tsx in that directory. What it
// prints is then checked against what this test computes itself from the files it wrote: the
// next token from the saved checkpoint through the float64 reference interpreter, and the
// artifact's class and spec. With CI set, a missing WebGPU adapter fails it.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encode } from '../src/io/tokenizer.ts';
import { loadCheckpoint, referenceForward } from '../src/library.ts';
import { SWIFTSHADER_ICD } from '../src/runtime/webgpu/device.ts';
import { ROOT } from './helpers/rh.ts';

/** The first ```ts block of README's `## Library` section. */
function librarySnippet(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Library\n'));
  if (section === undefined) throw new Error("README.md has no '## Library' section");
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(section);
  if (!block) throw new Error("README.md's Library section has no ```ts block");
  return block[1];
}

const runnable = Boolean(process.env.CI) || fs.existsSync(SWIFTSHADER_ICD);

describe.runIf(runnable)("README's library example", () => {
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'tmp', 'readme-library-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs, and its numbers are the reference interpreter\'s', async () => {
    const snippet = librarySnippet();
    fs.writeFileSync(path.join(dir, 'example.ts'), snippet);
    const r = spawnSync(process.execPath, ['--conditions=rhc-source', '--import', 'tsx', 'example.ts'], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, `the example failed:\n${r.stderr}`).toBe(0);

    // IR: the pipeline fuses, so fewer nodes come out than go in.
    const ir = /^IR: (\d+) nodes, (\d+) after [a-z, -]+$/m.exec(r.stdout);
    expect(ir, r.stdout).not.toBeNull();
    expect(Number(ir![2])).toBeLessThan(Number(ir![1]));

    // WebGPU against the reference, as the example measured it.
    const run = /^next token (\d+) \((".*")\); largest difference from the reference: (\S+)$/m.exec(r.stdout);
    expect(run, r.stdout).not.toBeNull();
    expect(Number(run![3])).toBeLessThanOrEqual(1e-4);

    // What it wrote: a checkpoint carrying the spec text as given, and the artifact's three modules.
    const text = /text: `([\s\S]*?)`,\n/.exec(snippet)![1];
    expect(fs.readFileSync(path.join(dir, 'out/my-rope/my-rope.rh'), 'utf8')).toBe(text);
    for (const f of ['model.ts', 'model.mjs', 'model.d.mts']) expect(fs.readFileSync(path.join(dir, 'out/my-rope-webgpu', f), 'utf8'), f).toMatch(/from 'rhc\/webgpu'/);

    // The next token, recomputed here: the saved checkpoint (with its own copy of the spec) in float64.
    const model = loadCheckpoint(path.join(dir, 'out/my-rope'));
    const ids = encode('The meaning of life is');
    const vocab = model.graph.config.vocab_size as number;
    const logits = await referenceForward(model, ids, { precision: 'f64' });
    const last = logits.subarray((ids.length - 1) * vocab);
    expect(new Set(last).size).toBeGreaterThan(vocab / 2); // real logits, not a constant
    const next = last.reduce((best, v, i) => (v > last[best] ? i : best), 0);
    expect(Number(run![1])).toBe(next);
  });
});
