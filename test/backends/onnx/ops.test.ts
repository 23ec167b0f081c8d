// Each op's ONNX lowering on a small hand-built graph, against the reference interpreter; this
// covers the ops and attribute cases the spec models do not use (reductions, non-causal
// attention, i32 arithmetic, symbolic reshapes), at the default opset and a newer one.

import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../../src/ir/graph.ts';
import { type Dim, dimAdd, dimMul, sym } from '../../../src/ir/dims.ts';
import type { RefTensor } from '../../../src/ir/reference.ts';
import { interpret } from '../../../src/runtime/reference/interpreter.ts';
import { floatTensor, openSession, renderModel, runSession } from '../../../backends/onnx/index.ts';
import { relativeError } from '../../passes/fixtures.ts';

const N = sym('N');
const M = sym('M');

function build(): Graph {
  const b = new GraphBuilder();
  const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [N, 4] });
  const y = b.add('input', [], { name: 'y', dtype: 'f32', shape: [M, 4] });
  const k = b.add('input', [], { name: 'k', dtype: 'i32', shape: [N] });
  const c = (value: number) => b.add('const', [], { dtype: 'f32', value });
  const pos = b.add('abs', [x]);
  const outs: Record<string, number> = {};
  outs.unary = b.add('add', [b.add('add', [b.add('log', [b.add('add', [pos, c(1)])]), b.add('sqrt', [pos])]),
    b.add('add', [b.add('tanh', [b.add('neg', [x])]), b.add('mul', [b.add('sin', [x]), b.add('cos', [x])])])]);
  outs.erf = b.add('erf', [b.add('mul', [x, c(0.9)])]);
  outs.binary = b.add('sub', [b.add('max', [b.add('div', [x, c(3)]), b.add('pow', [b.add('add', [pos, c(0.5)]), c(1.5)])]), b.add('min', [x, b.add('exp', [x])])]);
  const ki = b.add('mul', [b.add('neg', [k]), b.add('const', [], { dtype: 'i32', shape: [1], data: [3] })]);
  outs.ints = b.add('cast', [b.add('add', [b.add('reshape', [b.add('abs', [ki])], { shape: [N, 1] }), b.add('cast', [b.add('mul', [x, c(-2.5)])], { to: 'i32' })])], { to: 'f32' });
  outs.sum = b.add('sum', [x], { axis: 0, keepdims: true });
  outs.mean = b.add('mean', [x], { axis: 1, keepdims: false });
  outs.maxr = b.add('max_reduce', [x], { axis: -1, keepdims: true });
  outs.softmax = b.add('softmax', [x], { axis: 0 });
  const w = b.add('const', [], { dtype: 'f32', shape: [4], data: [1, 2, 0.5, -1] });
  outs.ln = b.add('layer_norm', [x, w, b.add('const', [], { dtype: 'f32', shape: [4], data: [0, 1, 0, -1] })], { eps: 1e-5 });
  const x3 = b.add('reshape', [x], { shape: [N, 2, 2] });
  outs.matmul = b.add('matmul', [x3, b.add('const', [], { dtype: 'f32', shape: [2, 3], data: [1, 2, 3, -1, 0.5, 0] })]);
  outs.moved = b.add('reshape', [b.add('transpose', [x3], { perm: [2, 0, 1] })], { shape: [dimMul(N, 4)] });
  outs.joined = b.add('concat', [b.add('slice', [x], { axis: 1, start: 1, end: 3 }), b.add('slice', [y], { axis: 1, start: 0, end: 2 })], { axis: 0 });
  outs.expanded = b.add('broadcast', [b.add('reshape', [x], { shape: [1, N, 4] })], { shape: [3, N, 4] });
  outs.gathered = b.add('gather', [b.add('const', [], { dtype: 'f32', shape: [5, 2], data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }), k]);
  outs.iota = b.add('cast', [b.add('iota', [], { length: dimAdd(N, M) })], { to: 'f32' });
  const heads = (v: number, n: Dim) => b.add('transpose', [b.add('reshape', [v], { shape: [n, 2, 2] })], { perm: [1, 0, 2] });
  outs.attention = b.add('attention', [heads(x, N), heads(y, M), heads(y, M)], { scale: 0.7, causal: false });
  outs.causal = b.add('attention', [heads(x, N), heads(b.add('concat', [y, x], { axis: 0 }), dimAdd(M, N)), heads(b.add('concat', [y, x], { axis: 0 }), dimAdd(M, N))], { scale: 0.5, causal: true });
  outs.rope = b.add('rope', [x, b.add('cos', [b.add('slice', [x], { axis: 1, start: 0, end: 2 })]), b.add('sin', [b.add('slice', [x], { axis: 1, start: 2, end: 4 })])]);
  // the training ops
  outs.compare = b.add('compare', [x, c(0.3)], { cmp: 'gt' });
  outs.one_hot = b.add('one_hot', [k], { depth: 5, dtype: 'f32' });
  const wide = b.add('concat', [x, b.add('slice', [x], { axis: 1, start: 0, end: 1 })], { axis: 1 });
  outs.cross_entropy = b.add('cross_entropy', [wide, k]);
  outs.scatter_add = b.add('scatter_add', [k, x], { rows: 5 });
  // every id twice, so ScatterND must add rows rather than keep one; and logits of several
  // hundred, whose exponentials overflow f32 unless the log-sum-exp is taken about the maximum
  const twice = b.add('concat', [k, k], { axis: 0 });
  outs.scatter_add_repeated = b.add('scatter_add', [twice, b.add('concat', [x, b.add('mul', [x, c(-3)])], { axis: 0 })], { rows: 5 });
  outs.cross_entropy_large = b.add('cross_entropy', [b.add('mul', [wide, c(300)]), k]);
  const [hq, hk] = [heads(x, N), heads(y, M)];
  const lse = b.add('attention_lse', [hq, hk], { scale: 0.7, causal: false });
  outs.attention_lse = lse;
  const delta = b.add('sum', [b.add('mul', [hq, outs.attention])], { axis: -1, keepdims: false });
  for (const wrt of ['q', 'k', 'v'] as const) outs[`attention_grad_${wrt}`] = b.add('attention_grad', [hq, hk, hk, hq, lse, delta], { scale: 0.7, causal: false, wrt });
  // causal with the queries the last N of M + N keys (a KV-cache offset), v and dout apart from k and q
  const keys = b.add('concat', [y, x], { axis: 0 });
  const [ck, cv, cdout] = [heads(keys, dimAdd(M, N)), heads(b.add('sin', [keys]), dimAdd(M, N)), heads(b.add('cos', [x]), N)];
  const causalLse = b.add('attention_lse', [hq, ck], { scale: 0.5, causal: true });
  const causalOut = b.add('attention', [hq, ck, cv], { scale: 0.5, causal: true });
  const causalDelta = b.add('sum', [b.add('mul', [cdout, causalOut])], { axis: -1, keepdims: false });
  outs.attention_lse_causal = causalLse;
  for (const wrt of ['q', 'k', 'v'] as const) outs[`attention_grad_${wrt}_causal`] = b.add('attention_grad', [hq, ck, cv, cdout, causalLse, causalDelta], { scale: 0.5, causal: true, wrt });
  return b.finish('ops', ['N', 'M'], Object.entries(outs).map(([name, id]) => ({ name, id })), {});
}

describe('ONNX op lowerings', () => {
  it.each([17, 18, 21])('every op matches the reference interpreter at opset %i', async (opset) => {
    const g = build();
    const model = renderModel(g, new Map(), { opset });
    const session = await openSession(onnxProto.onnx.ModelProto.encode(model).finish());
    const [n, m] = [3, 2];
    const xs = Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.7) * 2);
    const ys = Float32Array.from({ length: m * 4 }, (_, i) => Math.cos(i * 0.9));
    const ks = Int32Array.from([4, 0, 2]);
    const inputs = new Map<string, RefTensor>([
      ['x', { dtype: 'f32', shape: [n, 4], data: xs }],
      ['y', { dtype: 'f32', shape: [m, 4], data: ys }],
      ['k', { dtype: 'i32', shape: [n], data: ks }],
    ]);
    const want = interpret(g, { inputs, params: new Map(), precision: 'f64' });
    const got = await runSession(session, { x: floatTensor(xs, [n, 4]), y: floatTensor(ys, [m, 4]), k: { type: 'int32', data: ks, dims: [n] } });
    for (const [name, t] of want) {
      const o = got.get(name)!;
      expect(o.dims, name).toEqual(t.shape);
      expect(relativeError(o.data, t.data), name).toBeLessThan(1e-5);
    }
    await session.release();
  });
});
