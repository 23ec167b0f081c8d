// Loading an artifact directory with a checkpoint: a mismatched checkpoint (other spec, other
// dims, a tensor of the wrong shape) is refused with a message saying what to do, before
// anything runs; the generated class refuses an artifact compiled for something else.
// The GPU (SwiftShader in CI) is needed only where a model is really created.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact, writeArtifact } from '../../../backends/webgpu/artifact.ts';
import { initModel, loadModel, saveModel } from '../../../src/model/model.ts';
import { cpuBackend } from '../../../src/runtime/backends.ts';
import { loadArtifactModel, idBatch } from '../../../src/runtime/webgpu/artifact-model.ts';
import { acquireDevice, type GpuContext } from '../../../src/runtime/webgpu/device.ts';
import { nodeFiles } from '../../../src/runtime/webgpu/node-files.ts';
import { ROOT, tempDir } from '../../helpers/rh.ts';

const DIMS = { n_layer: 1, n_embd: 16, n_head: 2, vocab_size: 40, n_positions: 8 };
const overrides = (dims: Record<string, number>) => Object.entries(dims).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
const spec = (name: string) => path.join(ROOT, 'spec', `${name}.rh`);

const dir = tempDir();
const artifactDir = path.join(dir, 'artifact');
const checkpoint = (name: string, specName: string, dims: Record<string, number>) => {
  const out = path.join(dir, name);
  saveModel(initModel(spec(specName), { seed: 1, overrides: overrides(dims) }), out);
  return nodeFiles(out);
};
// Mismatches are found before the device is touched, so no GPU is needed to test them.
const noGpu = {} as GpuContext;

beforeAll(() => {
  const model = initModel(spec('gp-norm'), { overrides: overrides(DIMS) });
  writeArtifact(artifactDir, buildArtifact(model.graph, { specFile: spec('gp-norm'), outDir: artifactDir }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadArtifactModel refuses a checkpoint that does not fit', () => {
  it('of other dims, saying which --set would fit', async () => {
    const wide = checkpoint('wide', 'gp-norm', { ...DIMS, n_embd: 32 });
    await expect(loadArtifactModel(noGpu, nodeFiles(artifactDir), wide)).rejects.toThrow(/n_embd is 32, the artifact was compiled with 16; recompile with --set n_embd=32/);
  });

  it('of another variant', async () => {
    const lr = checkpoint('lr', 'lr', DIMS);
    await expect(loadArtifactModel(noGpu, nodeFiles(artifactDir), lr)).rejects.toThrow(/rotatinghead is "lr", the artifact \(gp-norm\) needs "gp"/);
  });

  it('when the class was generated for another config', async () => {
    const ok = checkpoint('ok', 'gp-norm', DIMS);
    const config = { ...initModel(spec('gp-norm'), { overrides: overrides(DIMS) }).graph.config, n_layer: 24 };
    await expect(loadArtifactModel(noGpu, nodeFiles(artifactDir), ok, { spec: 'gp-norm', config })).rejects.toThrow(
      /the artifact is gp-norm \(n_layer=1\), but this class was generated for gp-norm with n_layer=24/,
    );
  });

  it('when the artifact directory is missing a file', async () => {
    await expect(loadArtifactModel(noGpu, nodeFiles(dir), new Map())).rejects.toThrow(/manifest\.json: file not found/);
  });
});

describe('loading on the GPU', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await acquireDevice();
  });
  afterAll(() => ctx?.destroy());

  it('names a tensor of the wrong shape', async () => {
    const weights = new Map(initModel(spec('gp-norm'), { overrides: overrides(DIMS) }).weights);
    weights.set('transformer.wte.weight', new Float32Array(7));
    await expect(loadArtifactModel(ctx, nodeFiles(artifactDir), weights)).rejects.toThrow(/tensor 'transformer\.wte\.weight' has 7 values, the model expects \[40, 16\] = 640/);
  });

  it('runs a checkpoint that fits, matching the reference interpreter', async () => {
    const ckptDir = path.join(dir, 'fits');
    const files = checkpoint('fits', 'gp-norm', DIMS);
    const { model, manifest } = await loadArtifactModel(ctx, nodeFiles(artifactDir), files);
    expect(manifest.spec).toBe('gp-norm');
    const { ids, batch, seq } = idBatch([3, 1, 4, 1, 5], DIMS.vocab_size, DIMS.n_positions);
    const logits = await model.forward(ids, batch, seq);
    model.destroy();
    const ref = loadModel(ckptDir);
    const expected = await cpuBackend().forward({ graph: ref.graph, weights: ref.weights, ids, batch, seq });
    expect(logits.length).toBe(expected.length);
    expect(Math.max(...logits.map((v, i) => Math.abs(v - expected[i])))).toBeLessThan(1e-4);
  });
});

describe('helpers', () => {
  it('idBatch checks ids and row lengths', () => {
    expect(idBatch([1, 2], 10, 4)).toEqual({ ids: Int32Array.from([1, 2]), batch: 1, seq: 2 });
    expect(() => idBatch([1, 10], 10, 4)).toThrow(/token id 10 \(row 0, position 1\) is not in \[0, 10\)/);
    expect(() => idBatch([[1], [1, 2]], 10, 4)).toThrow(/row 1 has 2 tokens, row 0 has 1/);
    expect(() => idBatch([1, 2, 3, 4, 5], 10, 4)).toThrow(/5 tokens exceed the model's 4 positions/);
    expect(() => idBatch([], 10, 4)).toThrow(/at least one token/);
  });

  it('nodeFiles refuses paths outside its directory', async () => {
    await expect(nodeFiles(artifactDir).text('../../etc/passwd')).rejects.toThrow(/outside the directory/);
  });
});
