// Attention's WGSL kernels (backends/webgpu/ops/attention.ts) on SwiftShader against the f64
// reference interpreter: the per-query and the tiled prefill kernels at lengths that are not
// multiples of their blocks, with KV-cache offsets (Sk > Sq); the split-context decode path at
// contexts of 1, 17 and 300 keys (one, two and up to 19 chunks); head sizes 8, 16, 64 and a
// scalar 6. And from the plan: which dispatches a run's sizes select, and that a decode step is
// one dispatch of B*H*chunks threads, not B*H.

import { describe, expect, it } from 'vitest';
import type { Dim } from '../../../src/ir/dims.ts';
import { compileWebGpu, gridDimSize, type PlanDispatch, type WebGpuPlan } from '../../../backends/webgpu/index.ts';
import { WebGpuModel } from '../../../src/runtime/webgpu/model.ts';
import { decodeChunks, DECODE_QUERIES } from '../../../backends/webgpu/ops/attention.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL } from '../../passes/fixtures.ts';
import { buildGraph, gpu, gpuVsReference, M, N, randomTensor, useDevice } from './helpers.ts';

useDevice();

const TOL = 1e-5;
const LEAD = [2, 3];
const bounds = { N: 140, M: 320 };

/**
 * Causal and (below D = 64, whose unrolled kernels are slow to compile on SwiftShader) full
 * attention of q [2, 3, N, D] over k, v [2, 3, M, D], scale 1/sqrt(D).
 */
function attentionGraph(D: number, Sq: Dim = N) {
  return buildGraph(typeof Sq === 'number' ? ['M'] : ['N', 'M'], (b, input) => {
    const q = input('q', 'f32', [...LEAD, Sq, D]);
    const k = input('k', 'f32', [...LEAD, M, D]);
    const v = input('v', 'f32', [...LEAD, M, D]);
    const scale = 1 / Math.sqrt(D);
    const causal = b.add('attention', [q, k, v], { scale, causal: true });
    const outputs: Record<string, number> = { causal };
    if (D < 64) outputs.full = b.add('attention', [q, k, v], { scale, causal: false });
    return outputs;
  });
}

function feed(D: number, sq: number, sk: number, seed: number) {
  // scores of several units, so the softmax is far from uniform and the max rescaling matters
  return { q: randomTensor('f32', [...LEAD, sq, D], seed, [-3, 3]), k: randomTensor('f32', [...LEAD, sk, D], seed + 1, [-3, 3]), v: randomTensor('f32', [...LEAD, sk, D], seed + 2) };
}

describe('prefill (Sq > DECODE_QUERIES)', () => {
  // D = 64 tiles 32 keys, D <= 16 64 keys; query blocks of 64: 70 and 130 queries end mid-block.
  const sizes: [number, number][] = [[5, 5], [37, 37], [70, 70], [37, 100], [70, 133], [130, 300]];
  it.each([['rows', 8], ['rows', 64], ['tiled', 6], ['tiled', 8], ['tiled', 16], ['tiled', 64]] as const)('%s kernel, head size %i', async (kernel, D) => {
    const feeds = sizes.map(([sq, sk], i) => feed(D, sq, sk, 100 + 10 * i));
    const errors = await gpuVsReference(attentionGraph(D), feeds, { bounds, compile: { kernelChoices: { attentionPrefill: kernel } } });
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOL);
  });
});

describe('decode (split over the context, combined in workgroup memory)', () => {
  // Sq = 1 at contexts 1, 17 (two chunks of 16) and 300 (19 chunks); three queries over 300 keys.
  const sizes: [number, number][] = [[1, 1], [1, 17], [1, 300], [3, 300], [DECODE_QUERIES, 40]];
  it.each([6, 8, 16, 64])('head size %i', async (D) => {
    const feeds = sizes.map(([sq, sk], i) => feed(D, sq, sk, 200 + 10 * i));
    const errors = await gpuVsReference(attentionGraph(D), feeds, { bounds });
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOL);
  });

  it('with a static Sq of 1, the plan holds the decode kernel alone and matches the reference', async () => {
    const g = attentionGraph(16, 1);
    const plan = compileWebGpu(g, { specName: 'test', decoding: false, passes: [], bounds }).plan;
    expect(plan.dispatches.map((d) => d.label)).toEqual([/split/, /split/].map((r) => expect.stringMatching(r)));
    const errors = await gpuVsReference(g, [feed(16, 1, 17, 300), feed(16, 1, 300, 310)], { bounds });
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOL);
  });
});

describe('the plan', () => {
  const workgroups = (d: PlanDispatch, dims: Map<string, number>) => {
    const g = d.grid;
    return 'linear' in g ? gridDimSize(g.linear, dims) : [g.x, g.y, g.z].reduce((n, a) => n * (a ? gridDimSize(a, dims) : 1), 1);
  };
  const live = (plan: WebGpuPlan, dims: Map<string, number>) => plan.dispatches.filter((d) => workgroups(d, dims) > 0);
  const threads = (plan: WebGpuPlan, d: PlanDispatch, dims: Map<string, number>) => workgroups(d, dims) * plan.kernels[d.kernel].workgroupSize.reduce((a, b) => a * b, 1);

  it('dispatches one decode kernel for a decode step (B*H*chunks threads) and one prefill kernel otherwise', () => {
    const plan = compileWebGpu(attentionGraph(64), { specName: 'test', decoding: false, passes: [], bounds }).plan;
    const decode = new Map([['N', 1], ['M', 300]]);
    const step = live(plan, decode);
    expect(step.map((d) => d.label)).toEqual([expect.stringMatching(/split over the context/)]);
    const heads = LEAD[0] * LEAD[1];
    expect(decodeChunks(64)).toBe(32); // 32 partials of 64 + 2 floats fill 8.4 of the 16 KiB
    expect(threads(plan, step[0], decode)).toBe(heads * 32);
    for (const [sq, sk] of [[DECODE_QUERIES + 1, 300], [140, 140]]) {
      const prefill = live(plan, new Map([['N', sq], ['M', sk]]));
      expect(prefill).toHaveLength(1);
      for (const d of prefill) expect(d.label).not.toMatch(/split/);
    }
    // The partials never reach global memory: the kernel binds q, k, v and its output only.
    expect(step[0].bindings).toHaveLength(4);
  });

  it('decode: partials in workgroup memory within 16 KiB, one barrier outside any per-thread branch', () => {
    for (const D of [6, 64, 128]) {
      const a = compileWebGpu(attentionGraph(D, 1), { specName: 'test', decoding: false, passes: [], bounds });
      const code = a.kernels[a.plan.kernels[a.plan.dispatches[0].kernel].file];
      const bytes = [...code.matchAll(/var<workgroup> \w+: array<(f32|vec4<f32>), (\d+)>/g)].reduce((n, m) => n + Number(m[2]) * (m[1] === 'f32' ? 4 : 16), 0);
      expect(bytes, `D = ${D}`).toBeLessThanOrEqual(16384);
      expect(bytes, `D = ${D}`).toBe(decodeChunks(D) * (D + 2) * 4);
      expect(code.match(/workgroupBarrier\(\)/g)).toHaveLength(1);
      expect(code).not.toMatch(/return;/);
    }
  });

  it('tiled: key and value tiles in workgroup memory within 16 KiB, barriers outside any per-thread branch', () => {
    const a = compileWebGpu(attentionGraph(64), { specName: 'test', decoding: false, passes: [], bounds, kernelChoices: { attentionPrefill: 'tiled' } });
    const d = a.plan.dispatches.find((x) => /tiled/.test(x.label))!;
    const code = a.kernels[a.plan.kernels[d.kernel].file];
    const shared = [...code.matchAll(/var<workgroup> \w+: array<vec4<f32>, (\d+)>/g)].map((m) => Number(m[1]) * 16);
    expect(shared).toEqual([32 * 64 * 4, 32 * 64 * 4]);
    expect(shared.reduce((x, y) => x + y)).toBeLessThanOrEqual(16384);
    expect(code.match(/workgroupBarrier\(\)/g)).toHaveLength(2);
    expect(code).not.toMatch(/return;/);
  });
});

describe('a model with the tiled prefill', () => {
  it('gp-norm: logits match the reference; decoding (split path) matches the tiled full sequence', async () => {
    const g = compileSpec('gp-norm');
    const weights = randomWeights(g, 13);
    const V = SMALL.vocab_size;
    const model = await WebGpuModel.create(gpu.ctx, compileWebGpu(g, { specName: 'gp-norm', kernelChoices: { attentionPrefill: 'tiled' } }), weights);
    try {
      const seq = SMALL.n_positions - 3;
      const ids = randomIds(seq, V, 5);
      const full = await model.forward(ids, 1, seq);
      expect(relativeError(full, runReference(g, weights, ids, 1, seq).get('logits')!.data)).toBeLessThan(1e-4);
      const decoder = model.decoder();
      await decoder.append([...ids.subarray(0, seq - 2)]);
      for (const s of [seq - 2, seq - 1]) expect(relativeError(await decoder.append([ids[s]]), full.subarray(s * V, (s + 1) * V)), `step ${s}`).toBeLessThan(1e-4);
      decoder.dispose();
    } finally {
      model.destroy();
    }
  });
});
