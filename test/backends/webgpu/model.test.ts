// Every variant on SwiftShader: full-sequence logits within 1e-4 (relative) of the f64
// reference interpreter at two batch/sequence sizes, token-by-token decoding with the KV cache
// on the GPU equal to the full-sequence logits, and a model whose tensors are split into
// chunks (wte across two bindings, as GPT-2 medium's is under a 128 MiB limit) unchanged.

import { describe, expect, it } from 'vitest';
import { compileWebGpu } from '../../../backends/webgpu/index.ts';
import { WebGpuModel } from '../../../src/runtime/webgpu/model.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from '../../passes/fixtures.ts';
import { gpu, useDevice } from './helpers.ts';

useDevice();

const V = SMALL.vocab_size;
const TOL = 1e-4;

describe.each(SPECS)('%s', (spec) => {
  const g = compileSpec(spec);
  const weights = randomWeights(g, 11);

  it('forward: logits [batch, seq, vocab] match the reference at two sizes; decoding matches the full sequence', async () => {
    const model = await WebGpuModel.create(gpu.ctx, compileWebGpu(g, { specName: spec, maxBatch: 2 }), weights);
    try {
      for (const [batch, seq, seed] of [[2, 5, 1], [1, SMALL.n_positions, 2]]) {
        const ids = randomIds(batch * seq, V, seed);
        const got = await model.forward(ids, batch, seq);
        expect(got.length).toBe(batch * seq * V);
        expect(relativeError(got, runReference(g, weights, ids, batch, seq).get('logits')!.data), `${batch}x${seq}`).toBeLessThan(TOL);
      }
      // Token by token: each step's logits equal that position's row of the full sequence.
      const seq = 9;
      const ids = randomIds(seq, V, 3);
      const full = await model.forward(ids, 1, seq);
      const reference = runReference(g, weights, ids, 1, seq).get('logits')!.data;
      const decoder = model.decoder();
      expect(decoder.capacity).toBe(SMALL.n_positions);
      for (let s = 0; s < seq; s++) {
        const row = await decoder.append([ids[s]]);
        expect(relativeError(row, full.subarray(s * V, (s + 1) * V)), `step ${s}`).toBeLessThan(TOL);
        expect(relativeError(row, reference.subarray(s * V, (s + 1) * V)), `step ${s} vs reference`).toBeLessThan(TOL);
      }
      expect(decoder.length).toBe(seq);
      // A prompt at once, then single tokens, after a reset.
      decoder.reset();
      const prompt = await decoder.append([...ids.subarray(0, 4)]);
      expect(relativeError(prompt, full.subarray(3 * V, 4 * V))).toBeLessThan(TOL);
      const next = await decoder.append([ids[4]]);
      expect(relativeError(next, full.subarray(4 * V, 5 * V))).toBeLessThan(TOL);
      decoder.dispose();
    } finally {
      model.destroy();
    }
  });
});

describe('tensors split into chunks', () => {
  it.each(['gpt2-abs', 'lr-norm'] as const)('%s: wte in two bindings (and more split tensors) gives the same logits', async (spec) => {
    const g = compileSpec(spec);
    const weights = randomWeights(g, 5);
    const artifact = compileWebGpu(g, { specName: spec, maxBatch: 2, maxBindingBytes: 8192 });
    const wte = artifact.plan.buffers.find((b) => b.checkpoint === 'transformer.wte.weight')!;
    expect(wte.chunking!.chunks).toBeGreaterThanOrEqual(2);
    // the tied lm_head runs once per wte chunk, each computing that chunk's columns
    expect(artifact.plan.dispatches.filter((d) => d.bindings.some((b) => b.buffer === wte.id) && /chunk \d/.test(d.label)).length).toBe(wte.chunking!.chunks);
    expect(artifact.plan.requirements.maxStorageBufferBindingSize).toBeLessThanOrEqual(8192);
    const model = await WebGpuModel.create(gpu.ctx, artifact, weights);
    try {
      const ids = randomIds(2 * 6, V, 4);
      const got = await model.forward(ids, 2, 6);
      expect(relativeError(got, runReference(g, weights, ids, 2, 6).get('logits')!.data)).toBeLessThan(TOL);
      const decoder = model.decoder();
      const step = await decoder.append([...ids.subarray(0, 6)]);
      expect(relativeError(step, got.subarray(5 * V, 6 * V))).toBeLessThan(TOL);
      decoder.dispose();
    } finally {
      model.destroy();
    }
  });
});
