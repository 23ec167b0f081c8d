// Attention's WGSL kernels (backends/webgpu/ops/attention.ts) on SwiftShader against the f64
// reference interpreter: the per-query and the tiled prefill kernels at lengths that are not
// multiples of their blocks, with KV-cache offsets (Sk > Sq); the split-context decode path at
// contexts of 1, 17 and 300 keys (one, two and up to 19 chunks); head sizes 8, 16, 64 and a
// scalar 6. And from the plan: which dispatches a run's sizes select, and that a decode step is
// one dispatch of B*H*chunks threads, not B*H. Then the backward kernels (attention-grad.ts):
// attention_lse and the gradients of q, k and v at two lengths, and the backward graph of a
// small attention block built by gradients().

import { describe, expect, it } from 'vitest';
import type { Dim } from '../../../src/ir/dims.ts';
import { compileWebGpu, gridDimSize, type PlanDispatch, type WebGpuPlan } from '../../../backends/webgpu/index.ts';
import { WebGpuModel, type TensorData } from '../../../src/runtime/webgpu/model.ts';
import { interpret } from '../../../src/runtime/reference/interpreter.ts';
import { decodeChunks, DECODE_QUERIES } from '../../../backends/webgpu/ops/attention.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL } from '../../passes/fixtures.ts';
import { GraphBuilder } from '../../../src/ir/graph.ts';
import { gradients } from '../../../src/passes/autodiff.ts';
import { Rng } from '../../../src/io/rng.ts';
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

describe('the backward kernels (no [Sq, Sk] buffer)', () => {
  /**
   * attention_lse and attention_grad wrt q, k, v, causal and not, for q [2, 3, N, D] over k
   * [2, 3, M, D], v [2, 3, M, Dv], dout [2, 3, N, Dv]; delta = rowsum(dout * out) as the rule
   * builds it, with the forward's output `out` fed in (the reference's: the forward kernels are
   * tested above, and at D = 64 they are slow to compile on SwiftShader).
   */
  function backwardGraph(D: number, Dv: number) {
    return buildGraph(['N', 'M'], (b, input) => {
      const q = input('q', 'f32', [...LEAD, N, D]);
      const k = input('k', 'f32', [...LEAD, M, D]);
      const v = input('v', 'f32', [...LEAD, M, Dv]);
      const dout = input('dout', 'f32', [...LEAD, N, Dv]);
      const outputs: Record<string, number> = {};
      for (const causal of [true, false]) {
        const a = { scale: 1 / Math.sqrt(D), causal };
        const tag = causal ? 'causal' : 'full';
        const lse = b.add('attention_lse', [q, k], a);
        const delta = b.add('sum', [b.add('mul', [dout, input(`out ${tag}`, 'f32', [...LEAD, N, Dv])])], { axis: -1, keepdims: false });
        outputs[`lse ${tag}`] = lse;
        for (const wrt of ['q', 'k', 'v']) outputs[`d${wrt} ${tag}`] = b.add('attention_grad', [q, k, v, dout, lse, delta], { ...a, wrt });
      }
      return outputs;
    });
  }
  function backwardFeed(D: number, Dv: number, sq: number, sk: number, seed: number): Record<string, TensorData> {
    const feed = {
      q: randomTensor('f32', [...LEAD, sq, D], seed, [-2, 2]),
      k: randomTensor('f32', [...LEAD, sk, D], seed + 1, [-2, 2]),
      v: randomTensor('f32', [...LEAD, sk, Dv], seed + 2),
      dout: randomTensor('f32', [...LEAD, sq, Dv], seed + 3),
    };
    const forward = buildGraph(['N', 'M'], (b, input) => {
      const [q, k, v] = [input('q', 'f32', [...LEAD, N, D]), input('k', 'f32', [...LEAD, M, D]), input('v', 'f32', [...LEAD, M, Dv])];
      return { 'out causal': b.add('attention', [q, k, v], { scale: 1 / Math.sqrt(D), causal: true }), 'out full': b.add('attention', [q, k, v], { scale: 1 / Math.sqrt(D), causal: false }) };
    });
    const inputs = new Map(Object.entries(feed).map(([name, t]) => [name, { dtype: 'f32' as const, shape: t.shape, data: t.data }]));
    const outs = interpret(forward, { inputs, params: new Map(), precision: 'f64' });
    return { ...feed, ...Object.fromEntries([...outs].map(([name, t]) => [name, { data: Float32Array.from(t.data), shape: [...t.shape] }])) };
  }

  // vec4 registers at 16 and 64, scalars at 6 (and Dv != D); 70 queries and 133 keys end mid-workgroup
  it.each([[16, 16], [64, 64], [6, 4]])('head sizes %i, %i: lse and the gradients of q, k, v match the reference at two lengths', async (D, Dv) => {
    const feeds = [backwardFeed(D, Dv, 5, 9, 400), backwardFeed(D, Dv, 70, 133, 410)];
    const errors = await gpuVsReference(backwardGraph(D, Dv), feeds, { bounds });
    expect(Object.keys(errors).sort()).toEqual(['dk causal', 'dk full', 'dq causal', 'dq full', 'dv causal', 'dv full', 'lse causal', 'lse full']);
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(1e-4);
  });

  it('each kernel binds at most 7 storage buffers, none as large as [2, 3, N, M]; head size 128 compiles', () => {
    for (const D of [64, 128]) {
      const plan = compileWebGpu(backwardGraph(D, D), { specName: 'test', decoding: false, passes: [], bounds }).plan;
      const grads = plan.dispatches.filter((d) => /attention_(lse|grad)/.test(d.label));
      expect(grads).toHaveLength(8);
      for (const d of grads) expect(d.bindings.length, d.label).toBeLessThanOrEqual(7);
      const scores = LEAD[0] * LEAD[1] * bounds.N * bounds.M * 4;
      for (const b of plan.buffers) expect(b.bytes, b.label).toBeLessThan(scores);
    }
  });

  it('the gradients of a causal self-attention block (c_attn, head split, rotation by learned angles, c_proj) match the reference', async () => {
    const [B, S, H, Dh] = [2, 7, 2, 8];
    const C = H * Dh;
    const b = new GraphBuilder();
    const shapes: Record<string, number[]> = { x: [B, S, C], c_attn: [C, 3 * C], c_proj: [C, C], freq: [Dh / 2] };
    const p = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, b.add('param', [], { name, dtype: 'f32', shape, init: { kind: 'zeros' } })]));
    const qkv = b.add('matmul', [p.x, p.c_attn]);
    const pos = b.add('cast', [b.add('iota', [], { length: S })], { to: 'f32' });
    const angle = b.add('mul', [b.add('reshape', [pos], { shape: [S, 1, 1] }), b.add('reshape', [p.freq], { shape: [1, 1, Dh / 2] })]);
    const [cos, sin] = [b.add('cos', [angle]), b.add('sin', [angle])];
    const head = (i: number, rotate: boolean) => {
      const part = b.add('reshape', [b.add('slice', [qkv], { axis: -1, start: i * C, end: (i + 1) * C })], { shape: [B, S, H, Dh] });
      return b.add('transpose', [rotate ? b.add('rope', [part, cos, sin]) : part], { perm: [0, 2, 1, 3] });
    };
    const att = b.add('attention', [head(0, true), head(1, true), head(2, false)], { scale: 1 / Math.sqrt(Dh), causal: true });
    const merged = b.add('reshape', [b.add('transpose', [att], { perm: [0, 2, 1, 3] })], { shape: [B, S, C] });
    const y = b.add('matmul', [merged, p.c_proj]);
    const loss = b.add('sum', [b.add('reshape', [b.add('mul', [y, y])], { shape: [B * S * C] })], { axis: 0, keepdims: false });
    const graph = gradients(b.finish('grad', [], [{ name: 'loss', id: loss }], {}), { loss: 'loss' });
    expect(graph.nodes.filter((n) => n.op === 'attention_grad')).toHaveLength(3);
    const rng = new Rng(9);
    const weights = new Map(Object.entries(shapes).map(([name, shape]) => [name, Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => (2 * rng.uniform() - 1) * (name === 'x' ? 1 : 0.5))]));
    const errors = await gpuVsReference(graph, [{}], { bounds: {}, weights });
    expect(Object.keys(errors).sort()).toEqual(['grad.c_attn', 'grad.c_proj', 'grad.freq', 'grad.x', 'loss']);
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(1e-4);
  });
});
