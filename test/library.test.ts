// The `rhc` library (src/library.ts): specs as paths or as source text, config values checked as
// --set is, diagnostics rendered as the CLI renders them, and the emitters, each compared with
// what the path-based internals (or the CLI) give for the same spec.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSpec, compileOnnx, compileWebGpuArtifact, initWeights, loadCheckpoint, lowerSpec, referenceForward } from '../src/library.ts';
import { lowerSpec as lowerSpecFile, saveModel } from '../src/model/model.ts';
import { DiagnosticsError } from '../src/dsl/diagnostics.ts';
import { graphToJson } from '../src/ir/serialize.ts';
import { isRhcOnnxFile } from '../backends/onnx/index.ts';
import { ROOT, rhc, tempDir } from './helpers/rh.ts';

const GP_NORM = path.join(ROOT, 'spec/gp-norm.rh');
const TINY = { n_layer: 1, n_embd: 32, n_head: 4, vocab_size: 64, n_positions: 16 };
const tinySet = Object.entries(TINY).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));

describe('rhc (library)', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lowers a spec given as text exactly as the same file on disk', () => {
    const text = fs.readFileSync(GP_NORM, 'utf8');
    // As if it stood somewhere else: its import of gpt2.rh then comes from rhc's library.
    const fromText = lowerSpec({ file: path.join(dir, 'gp-norm.rh'), text }, { config: TINY });
    expect(graphToJson(fromText)).toEqual(graphToJson(lowerSpecFile(GP_NORM, tinySet)));
    expect(fs.existsSync(path.join(dir, 'gp-norm.rh'))).toBe(false); // nothing was written
  });

  it('reports a text spec\'s errors at their line, quoting it, as rhc check does', () => {
    const r = checkSpec({ file: 'mine.rh', text: 'import "gpt2.rh"\n\nmodel m = GPT2LMHeadModel(Rope = NoSuchRope)\n' });
    expect(r.ok).toBe(false);
    expect(r.report).toMatch(/^mine\.rh:3:\d+: error: .*NoSuchRope/);
    expect(r.report).toContain('   3 | model m = GPT2LMHeadModel(Rope = NoSuchRope)');
    expect(checkSpec(GP_NORM, { config: TINY })).toMatchObject({ ok: true, report: '' });
    // Text is bounded as a file on disk is.
    const huge = checkSpec({ file: 'huge.rh', text: `// ${'x'.repeat(300 * 1024)}\n` });
    expect(huge.report).toMatch(/^error: cannot read spec huge\.rh: it is 300\.0 KiB, more than the 256\.0 KiB a spec may be$/);
  });

  it('checks config values as --set does: unknown names and wrong types are errors', () => {
    const bad = (config: Record<string, number | string>) => {
      try {
        lowerSpec(GP_NORM, { config });
      } catch (e) {
        if (e instanceof DiagnosticsError) return e.message;
        throw e;
      }
      throw new Error('no error');
    };
    expect(bad({ n_layr: 2 })).toMatch(/unknown config 'n_layr' \(did you mean 'n_layer'\?\)/);
    expect(bad({ n_layer: '2' })).toMatch(/n_layer.*expected an integer, got the string "2"/);
  });

  it('a text spec\'s checkpoint carries the text, and loads alone', async () => {
    const text = fs.readFileSync(GP_NORM, 'utf8').replace('10000.0', '500.0');
    const spec = { file: path.join(dir, 'mine.rh'), text };
    const model = initWeights(spec, { config: TINY, seed: 4 });
    expect(model.graph.config.base_frequency).toBe(500);
    const ckpt = path.join(dir, 'ckpt');
    saveModel(model, ckpt);
    expect(fs.readFileSync(path.join(ckpt, 'mine.rh'), 'utf8')).toBe(text);
    const loaded = loadCheckpoint(ckpt);
    expect(loaded.graph.config.base_frequency).toBe(500);
    const ids = [3, 1, 4, 1, 5];
    expect(await referenceForward(loaded, ids)).toEqual(await referenceForward(model, ids));
  });

  it('compiles for WebGPU in memory, or into outDir as rhc compile does', async () => {
    const inMemory = await compileWebGpuArtifact(GP_NORM, { config: TINY });
    expect(inMemory.manifest).toMatchObject({ spec: 'gp-norm', className: 'GpNormModel', config: TINY });
    const out = path.join(dir, 'artifact');
    await compileWebGpuArtifact(GP_NORM, { config: TINY, outDir: out });
    const cli = path.join(dir, 'artifact-cli');
    expect(rhc(['compile', GP_NORM, '--target', 'webgpu', ...Object.entries(TINY).flatMap(([k, v]) => ['--set', `${k}=${v}`]), '-o', cli]).status).toBe(0);
    for (const [rel, contents] of inMemory.files) {
      expect(fs.readFileSync(path.join(out, rel)), rel).toEqual(Buffer.from(contents));
      expect(fs.readFileSync(path.join(cli, rel)), rel).toEqual(Buffer.from(contents));
    }
    await expect(compileWebGpuArtifact(GP_NORM, { config: TINY, outDir: dir })).rejects.toThrow(/not a file of an rhc WebGPU artifact/);
  });

  it('exports ONNX with fresh weights, refusing to overwrite its own spec', async () => {
    const out = path.join(dir, 'm.onnx');
    const r = await compileOnnx(GP_NORM, { config: TINY, out, seed: 1 });
    expect(r.externalData).toBe(false);
    expect(fs.statSync(out).size).toBe(r.bytes);
    expect(isRhcOnnxFile(out)).toBe(true);
    const spec = path.join(dir, 'copy.rh');
    fs.copyFileSync(GP_NORM, spec);
    await expect(compileOnnx(spec, { config: TINY, out: spec })).rejects.toThrow(/would overwrite .*copy\.rh, an input/);
  });
});
