// The -O levels on SwiftShader: every variant's logits at -O0 (one kernel per op) and -O1
// (matmul epilogues) equal the f64 reference within 1e-4, as -O2's do (model.test.ts), and
// decoding at each level equals the full sequence. The q/k/v region also runs where the
// matmul cannot take vec4s (K = 6: the scalar kernel accumulates each pair partner too).

import { describe, expect, it } from 'vitest';
import { compileWebGpu } from '../../../backends/webgpu/index.ts';
import type { OptLevel } from '../../../src/passes/fuse.ts';
import { WebGpuModel } from '../../../src/runtime/webgpu/model.ts';
import type { Graph } from '../../../src/ir/graph.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from '../../passes/fixtures.ts';
import { gpu, useDevice } from './helpers.ts';

useDevice();

const TOL = 1e-4;

async function checkLevel(g: Graph, spec: string, level: OptLevel): Promise<void> {
  const V = g.config.vocab_size as number;
  const weights = randomWeights(g, 5);
  const artifact = compileWebGpu(g, { specName: spec, maxBatch: 2, level });
  const model = await WebGpuModel.create(gpu.ctx, artifact, weights);
  try {
    const [batch, seq] = [2, 5];
    const ids = randomIds(batch * seq, V, 7);
    const got = await model.forward(ids, batch, seq);
    const want = runReference(g, weights, ids, batch, seq).get('logits')!.data;
    expect(relativeError(got, want), `-O${level} forward`).toBeLessThan(TOL);
    const decoder = model.decoder();
    const first = ids.subarray(0, seq);
    await decoder.append([...first.subarray(0, 3)]);
    for (let s = 3; s < seq; s++) {
      const row = await decoder.append([first[s]]);
      expect(relativeError(row, want.subarray(s * V, (s + 1) * V)), `-O${level} decode step ${s}`).toBeLessThan(TOL);
    }
    decoder.dispose();
  } finally {
    model.destroy();
  }
}

describe.each(SPECS)('%s', (spec) => {
  const g = compileSpec(spec);
  it.each([0, 1] as const)('-O%i: logits and decoding match the reference', (level) => checkLevel(g, spec, level));
});

describe('q/k/v heads without vec4s', () => {
  it('rope with n_embd 6 (K = 6): the scalar matmul rotates pairs in its store', async () => {
    const g = compileSpec('rope', { ...SMALL, n_embd: 6, n_head: 1 });
    const artifact = compileWebGpu(g, { specName: 'rope', level: 2 });
    const cAttn = artifact.plan.dispatches.find((d) => /fused qkv-heads/.test(d.label))!;
    expect(artifact.kernels[artifact.plan.kernels[cAttn.kernel].file]).toMatch(/scalar.*region store/);
    await checkLevel(g, 'rope', 2);
  });
});
