// The train-step graph on the reference interpreter (f64): its AdamW step against AdamW written
// out here from PyTorch's formulas (torch.optim.AdamW with clip_grad_norm_), fed the gradients
// of the loss graph (which model-gradients.test.ts checks against finite differences); the
// weight-decay groups; and accumulation of micro-batches against one batch.

import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/ir/graph.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { gradientGraph } from '../../src/train/model-gradients.ts';
import {
  BIAS_CORRECTION1_INPUT, BIAS_CORRECTION2_INPUT, GRAD_NORM_OUTPUT, LOSS_OUTPUT, LOSS_SCALE_INPUT, LR_INPUT,
  expAvgName, expAvgSqName, gradAccumName, nextName, trainStepGraph, trainableParams,
} from '../../src/train/step-graph.ts';
import { gradOutputName } from '../../src/passes/autodiff.ts';
import { Rng } from '../../src/io/rng.ts';
import { compileSpec, randomIds, randomWeights } from '../passes/fixtures.ts';
import { TINY } from './fixtures.ts';

const S = 5;

function feed(ids: Int32Array, batch: number, scale: number, lr = 0.01, k = 3): Map<string, RefTensor> {
  const s = (v: number): RefTensor => ({ dtype: 'f32', shape: [], data: Float64Array.of(v) });
  return new Map<string, RefTensor>([
    ['ids', { dtype: 'i32', shape: [batch, S], data: ids }],
    ['pos', { dtype: 'i32', shape: [S], data: Int32Array.from({ length: S }, (_, i) => i) }],
    [LOSS_SCALE_INPUT, s(scale)],
    [LR_INPUT, s(lr)],
    [BIAS_CORRECTION1_INPUT, s(1 - 0.9 ** (k + 1))],
    [BIAS_CORRECTION2_INPUT, s(1 - 0.999 ** (k + 1))],
  ]);
}

/** Random weights for the model's parameters, random moments, zero accumulators. */
function stateFor(g: Graph, model: Graph, seed: number): Map<string, RefTensor> {
  const rng = new Rng(seed);
  const forward = randomWeights(model, seed);
  const state = new Map<string, RefTensor>();
  for (const n of g.nodes) {
    if (n.op !== 'param') continue;
    const name = n.attrs.name as string;
    const shape = n.type.shape as number[];
    const size = shape.reduce((a, d) => a * d, 1);
    let data: Float64Array;
    if (forward.has(name)) data = Float64Array.from(forward.get(name)!);
    else if (name.startsWith('grad_accum.')) data = new Float64Array(size);
    else data = Float64Array.from({ length: size }, () => (name.includes('exp_avg_sq') ? rng.uniform() * 1e-3 : (rng.uniform() - 0.5) * 1e-2));
    state.set(name, { dtype: 'f32', shape, data });
  }
  return state;
}

describe('the train-step graph', () => {
  const forward = compileSpec('lr-norm', TINY);
  const ids = randomIds(2 * S, TINY.vocab_size, 9);

  it('decays every parameter but biases and LayerNorm parameters (the frequency LayerNorm too)', () => {
    const decay = new Map(trainableParams(forward).map((p) => [p.name, p.decay]));
    for (const name of ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.0.mlp.c_fc.weight', 'transformer.h.0.attn.rope.frequencies'])
      expect(decay.get(name), name).toBe(true);
    for (const name of ['transformer.h.0.attn.c_attn.bias', 'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias', 'transformer.ln_f.weight', 'transformer.h.1.attn.rope.layer_norm.weight', 'transformer.h.1.attn.rope.layer_norm.bias'])
      expect(decay.get(name), name).toBe(false);
  });

  it.each([
    ['with clipping', 0.05],
    ['without clipping', 0],
  ])('one step equals AdamW with clip_grad_norm_ written out (%s)', (_, maxGradNorm) => {
    const opt = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, maxGradNorm };
    const step = trainStepGraph(forward, opt);
    const state = stateFor(step, forward, 4);
    const scale = 1 / (2 * (S - 1));
    const lr = 0.01;
    const k = 3;
    const got = interpret(step, { precision: 'f64', inputs: feed(ids, 2, scale, lr, k), params: state });
    // The gradients, from the loss-and-gradient graph alone.
    const params = new Map([...state].filter(([n]) => !n.startsWith('optimizer.') && !n.startsWith('grad_accum.')));
    const grads = interpret(gradientGraph(forward), { precision: 'f64', inputs: feed(ids, 2, scale), params });
    const names = trainableParams(forward);
    let sq = 0;
    for (const p of names) for (const v of grads.get(gradOutputName(p.name))!.data) sq += v * v;
    const norm = Math.sqrt(sq);
    expect(got.get(GRAD_NORM_OUTPUT)!.data[0]).toBeCloseTo(norm, 12);
    expect(got.get(LOSS_OUTPUT)!.data[0]).toBeCloseTo(grads.get(LOSS_OUTPUT)!.data[0], 12);
    const clip = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (norm + 1e-6)) : 1;
    if (maxGradNorm > 0) expect(clip).toBeLessThan(1); // the case clips
    const bc1 = 1 - 0.9 ** (k + 1);
    const bc2 = 1 - 0.999 ** (k + 1);
    let worst = 0;
    for (const p of names) {
      const g = grads.get(gradOutputName(p.name))!.data;
      const w = state.get(p.name)!.data;
      const m0 = state.get(expAvgName(p.name))!.data;
      const v0 = state.get(expAvgSqName(p.name))!.data;
      const nextW = got.get(nextName(p.name))!.data;
      const nextM = got.get(nextName(expAvgName(p.name)))!.data;
      const nextV = got.get(nextName(expAvgSqName(p.name)))!.data;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * clip;
        const m = 0.9 * m0[i] + 0.1 * gi;
        const v = 0.999 * v0[i] + 0.001 * gi * gi;
        let x = p.decay ? w[i] * (1 - lr * opt.weightDecay) : w[i];
        x -= (lr / bc1) * (m / (Math.sqrt(v) / Math.sqrt(bc2) + opt.eps));
        worst = Math.max(worst, Math.abs(nextM[i] - m), Math.abs(nextV[i] - v), Math.abs(nextW[i] - x));
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('two accumulated micro-batches step as their batch of two does', () => {
    const step = trainStepGraph(forward);
    const state = stateFor(step, forward, 6);
    const scale = 1 / (2 * (S - 1));
    const whole = interpret(step, { precision: 'f64', inputs: feed(ids, 2, scale), params: state });
    const first = interpret(step, { precision: 'f64', inputs: feed(ids.slice(0, S), 1, scale), params: state });
    const carried = new Map(state);
    for (const p of trainableParams(forward)) carried.set(gradAccumName(p.name), { ...state.get(gradAccumName(p.name))!, data: first.get(nextName(gradAccumName(p.name)))!.data });
    const second = interpret(step, { precision: 'f64', inputs: feed(ids.slice(S), 1, scale), params: carried });
    expect(first.get(LOSS_OUTPUT)!.data[0] + second.get(LOSS_OUTPUT)!.data[0]).toBeCloseTo(whole.get(LOSS_OUTPUT)!.data[0], 12);
    let worst = 0;
    for (const p of trainableParams(forward)) {
      const a = whole.get(nextName(p.name))!.data;
      const b = second.get(nextName(p.name))!.data;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    expect(worst).toBeLessThan(1e-12);
  });
});
