// The WebGPU runtime's contract beyond numbers: user errors are reported before anything runs,
// limits and lost devices give clear errors (never a hang), weights can stream in, concurrent
// calls are serialised, and `rhc forward --backend webgpu` writes the same .npy as the CPU.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileWebGpu, type WebGpuArtifact } from '../../../backends/webgpu/index.ts';
import { RhcError } from '../../../src/errors.ts';
import { readNpy } from '../../../src/io/npy.ts';
import { initModel, saveModel } from '../../../src/model/model.ts';
import { cpuBackend } from '../../../src/runtime/backends.ts';
import { acquireDevice, GpuError } from '../../../src/runtime/webgpu/device.ts';
import { WebGpuModel } from '../../../src/runtime/webgpu/model.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL } from '../../passes/fixtures.ts';
import { rhc, ROOT, tempDir } from '../../helpers/rh.ts';
import { buildGraph, gpu, N, useDevice } from './helpers.ts';

useDevice();

const g = compileSpec('gp-norm');
const weights = randomWeights(g, 3);
const artifact = compileWebGpu(g, { specName: 'gp-norm', maxBatch: 2 });
const V = SMALL.vocab_size;

describe('WebGpuModel', () => {
  it('rejects bad ids, too large a batch, positions past n_positions, before running', async () => {
    const model = await WebGpuModel.create(gpu.ctx, artifact, weights);
    try {
      await expect(model.forward(Int32Array.from([1, V, 2]), 1, 3)).rejects.toThrow(/holds 97 at index 1, outside \[0, 97\) \(the rows of transformer\.wte\.weight\)/);
      await expect(model.forward(new Int32Array(3 * 2), 3, 2)).rejects.toThrow(/B = 3 exceeds 2.*larger maxBatch/);
      await expect(model.forward(new Int32Array(SMALL.n_positions + 1), 1, SMALL.n_positions + 1)).rejects.toThrow(RhcError);
      await expect(model.forward(new Int32Array(4), 1, 4, SMALL.n_positions - 2)).rejects.toThrow(/exceed the model's 32 positions/);
      const decoder = model.decoder();
      await decoder.append(Array.from({ length: SMALL.n_positions - 1 }, (_, i) => i));
      await expect(decoder.append([1, 2])).rejects.toThrow(/31 cached \+ 2 new do not fit/);
      expect((await decoder.append([5])).length).toBe(V); // still usable, now full
      decoder.dispose();
      await expect(decoder.append([1])).rejects.toThrow(/disposed/);
      // a forward at an offset sees shifted positions, like the CPU backend's positionOffset
      const ids = randomIds(4, V, 9);
      const shifted = await model.forward(ids, 1, 4, 7);
      expect(relativeError(shifted, runReference(g, weights, ids, 1, 4, new Map(), 7).get('logits')!.data)).toBeLessThan(1e-4);
    } finally {
      model.destroy();
    }
    await expect(model.forward(new Int32Array(1), 1, 1)).rejects.toThrow(/destroyed/);
  });

  it('feeds a decoder prompts longer than maxSeq in pieces (activations sized for maxSeq only)', async () => {
    const small = compileWebGpu(g, { specName: 'gp-norm', maxSeq: 4 });
    const logits = small.plan.buffers.find((b) => b.id === small.plan.outputs[0].buffer)!;
    expect(logits.bytes).toBe(4 * V * 4);
    const model = await WebGpuModel.create(gpu.ctx, small, weights);
    try {
      await expect(model.forward(new Int32Array(5), 1, 5)).rejects.toThrow(/S = 5 exceeds 4.*larger maxSeq/);
      const ids = randomIds(11, V, 8);
      const reference = runReference(g, weights, ids, 1, 11).get('logits')!.data;
      const decoder = model.decoder();
      await expect(decoder.append([1, 2, 3, 4, 5, V])).rejects.toThrow(/outside \[0, 97\)/);
      expect(decoder.length).toBe(0);
      const prompt = await decoder.append([...ids.subarray(0, 10)]);
      expect(relativeError(prompt, reference.subarray(9 * V, 10 * V))).toBeLessThan(1e-4);
      const next = await decoder.append([ids[10]]);
      expect(relativeError(next, reference.subarray(10 * V, 11 * V))).toBeLessThan(1e-4);
      decoder.dispose();
    } finally {
      model.destroy();
    }
  });

  it('streams weights from a getter and names a missing or misshapen tensor', async () => {
    const fetched: string[] = [];
    const model = await WebGpuModel.create(gpu.ctx, artifact, async (name) => (fetched.push(name), weights.get(name)!));
    expect(new Set(fetched)).toEqual(new Set(weights.keys()));
    const ids = randomIds(2 * 3, V, 2);
    // concurrent calls share activations: they are serialised and both right
    const [a, b] = await Promise.all([model.forward(ids, 2, 3), model.forward(ids.subarray(0, 3), 1, 3)]);
    expect(relativeError(b, a.subarray(0, 3 * V))).toBeLessThan(1e-6);
    model.destroy();
    const missing = new Map(weights);
    missing.delete('transformer.h.1.attn.rope.layer_norm.bias');
    await expect(WebGpuModel.create(gpu.ctx, artifact, missing)).rejects.toThrow(/no weights for tensor 'transformer\.h\.1\.attn\.rope\.layer_norm\.bias'/);
    const short = new Map(weights).set('transformer.wpe.weight', new Float32Array(5));
    await expect(WebGpuModel.create(gpu.ctx, artifact, short)).rejects.toThrow(/'transformer\.wpe\.weight' has 5 values, the model expects \[32, 32\]/);
  });

  it('names the tensor and the device limit when a plan needs bigger bindings than the device has', async () => {
    const huge = 2 * gpu.ctx.limits.maxStorageBufferBindingSize;
    const plan = structuredClone(artifact.plan);
    plan.buffers.find((b) => b.checkpoint === 'transformer.wte.weight')!.bytes = huge;
    plan.requirements.maxStorageBufferBindingSize = huge;
    const err = await WebGpuModel.create(gpu.ctx, { ...artifact, plan }, weights).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('limit');
    expect((err as GpuError).message).toMatch(/tensor 'transformer\.wte\.weight' needs storage bindings of .* maxStorageBufferBindingSize/);
    const old: WebGpuArtifact = { ...artifact, plan: { ...artifact.plan, version: 0 as never } };
    await expect(WebGpuModel.create(gpu.ctx, old, weights)).rejects.toThrow(/version 0 is not supported.*recompile/);
  });

  it('fails, never hangs, when the device is lost', async () => {
    const ctx = await acquireDevice();
    const tiny = buildGraph(['N'], (b, input) => ({ y: b.add('exp', [input('x', 'f32', [N])]) }));
    const model = await WebGpuModel.create(ctx, compileWebGpu(tiny, { specName: 'tiny', bounds: { N: 4 } }), new Map());
    expect([...(await model.run({ x: { data: new Float32Array(2), shape: [2] } })).get('y')!]).toEqual([1, 1]);
    ctx.destroy();
    const err = await model.run({ x: { data: new Float32Array(2), shape: [2] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('device-lost');
    expect((await ctx.device.lost).reason).toBe('destroyed');
  });
});

describe('rhc forward --backend webgpu', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the same .npy as --backend cpu', async () => {
    const ck = path.join(dir, 'ck');
    const model = initModel(path.join(ROOT, 'spec/lr.rh'), { seed: 1, overrides: Object.entries(SMALL).map(([name, value]) => ({ name, value, origin: '--set', strict: true })) });
    saveModel(model, ck);
    const ids = [5, 17, 3, 90, 2];
    const r = rhc(['forward', ck, '--ids', ids.join(','), '--backend', 'webgpu', '--out', path.join(dir, 'webgpu.npy')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = readNpy(path.join(dir, 'webgpu.npy'));
    expect(got.shape).toEqual([5, 97]);
    const cpu = await cpuBackend().forward({ graph: model.graph, weights: model.weights, ids: Int32Array.from(ids), batch: 1, seq: 5 });
    expect(relativeError(got.data, cpu)).toBeLessThan(1e-4);
  });
});
