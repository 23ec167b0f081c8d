// The whole model's gradient, every variant at tiny dims: autodiff through the forward graph and
// the next-token loss (the reference interpreter in f64) against central finite differences of
// the loss, on every parameter tensor, the LR frequencies and the frequency LayerNorm included.

import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/ir/graph.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { Rng } from '../../src/io/rng.ts';
import { gradientGraph } from '../../src/train/model-gradients.ts';
import { LOSS_OUTPUT, LOSS_SCALE_INPUT, lossGraph } from '../../src/train/step-graph.ts';
import { gradOutputName } from '../../src/passes/autodiff.ts';
import { compileSpec, randomIds, randomWeights, SPECS } from '../passes/fixtures.ts';

import { TINY } from './fixtures.ts';
const T = 6;

function run(g: Graph, params: Map<string, RefTensor>, ids: Int32Array): Map<string, RefTensor> {
  const inputs = new Map<string, RefTensor>([
    ['ids', { dtype: 'i32', shape: [1, T], data: ids }],
    ['pos', { dtype: 'i32', shape: [T], data: Int32Array.from({ length: T }, (_, i) => i) }],
    [LOSS_SCALE_INPUT, { dtype: 'f32', shape: [], data: Float64Array.of(1 / (T - 1)) }],
  ]);
  return interpret(g, { precision: 'f64', inputs, params });
}

describe('model gradients against finite differences (f64)', () => {
  it.each(SPECS)('%s', (spec) => {
    const forward = compileSpec(spec, TINY);
    const weights = randomWeights(forward, 11);
    const params = new Map<string, RefTensor>();
    for (const n of forward.nodes)
      if (n.op === 'param') params.set(n.attrs.name as string, { dtype: 'f32', shape: n.type.shape as number[], data: Float64Array.from(weights.get(n.attrs.name as string)!) });
    const ids = randomIds(T, TINY.vocab_size, 5);
    const loss = lossGraph(forward);
    const grads = run(gradientGraph(forward), params, ids);
    const rng = new Rng(17);
    const h = 1e-4;
    let worst = 0;
    let where = '';
    for (const [name, t] of params) {
      const g = grads.get(gradOutputName(name))!.data;
      const scale = Math.max(...Array.from(g, Math.abs));
      expect(scale, `${name} has a gradient`).toBeGreaterThan(0);
      // (The 1e-6 floor: finite differences of a loss near 2 carry ~1e-12 of rounding.)
      // Four elements of each tensor (all of a small one): the first, and three drawn at random.
      const picks = t.data.length <= 4 ? [...t.data.keys()] : [0, ...Array.from({ length: 3 }, () => Math.floor(rng.uniform() * t.data.length))];
      for (const i of picks) {
        const x0 = t.data[i];
        t.data[i] = x0 + h;
        const up = run(loss, params, ids).get(LOSS_OUTPUT)!.data[0];
        t.data[i] = x0 - h;
        const down = run(loss, params, ids).get(LOSS_OUTPUT)!.data[0];
        t.data[i] = x0;
        const fd = (up - down) / (2 * h);
        const err = Math.abs(g[i] - fd) / Math.max(Math.abs(fd), 1e-3 * scale, 1e-6);
        if (err > worst) [worst, where] = [err, `${name}[${i}]: autodiff ${g[i]}, finite difference ${fd}`];
      }
    }
    const names = [...params.keys()];
    if (spec.startsWith('lr')) expect(names).toContain('transformer.h.0.attn.rope.frequencies');
    if (spec.endsWith('-norm')) expect(names).toEqual(expect.arrayContaining(['transformer.h.1.attn.rope.layer_norm.weight', 'transformer.h.1.attn.rope.layer_norm.bias']));
    expect(worst, where).toBeLessThan(1e-5);
  });
});
