// Reference semantics of each op family against values worked out by hand.

import { describe, expect, it } from 'vitest';
import { getOp, type OpName } from '../../src/ir/registry.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { OpTypeError } from '../../src/ir/types.ts';
import { sym } from '../../src/ir/dims.ts';

const env = { precision: 'f64' as const, dims: new Map<string, number>() };
const f = (shape: number[], values: number[]): RefTensor => ({ dtype: 'f32', shape, data: Float64Array.from(values) });
const i = (shape: number[], values: number[]): RefTensor => ({ dtype: 'i32', shape, data: Int32Array.from(values) });
const run = (op: OpName, xs: RefTensor[], attrs: object = {}) => getOp(op).evaluate(xs, attrs, env);
const vals = (t: RefTensor) => Array.from(t.data);

describe('reference semantics', () => {
  it('broadcasts binary ops NumPy-style', () => {
    const r = run('sub', [f([2, 1], [10, 20]), f([3], [1, 2, 3])]);
    expect(r.shape).toEqual([2, 3]);
    expect(vals(r)).toEqual([9, 8, 7, 19, 18, 17]);
  });
  it('multiplies batched matrices with a broadcast operand', () => {
    const a = f([2, 1, 2], [1, 2, 3, 4]);
    const b = f([2, 2], [1, 0, 0, 2]);
    expect(vals(run('matmul', [a, b]))).toEqual([1, 4, 3, 8]);
  });
  it('transposes, slices and concatenates', () => {
    const x = f([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(vals(run('transpose', [x], { perm: [1, 0] }))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(vals(run('slice', [x], { axis: -1, start: 1, end: 3 }))).toEqual([2, 3, 5, 6]);
    expect(vals(run('concat', [x, f([2, 1], [7, 8])], { axis: 1 }))).toEqual([1, 2, 3, 7, 4, 5, 6, 8]);
  });
  it('gathers rows and rejects an id outside the table', () => {
    const table = f([3, 2], [0, 1, 10, 11, 20, 21]);
    expect(vals(run('gather', [table, i([2], [2, 0])]))).toEqual([20, 21, 0, 1]);
    expect(() => run('gather', [table, i([1], [3])])).toThrow(/index 3 .* out of range for a table of 3 rows/);
  });
  it('computes softmax and LayerNorm (biased variance)', () => {
    const s = vals(run('softmax', [f([2], [0, Math.log(3)])], { axis: -1 }));
    expect(s[0]).toBeCloseTo(0.25, 15);
    expect(s[1]).toBeCloseTo(0.75, 15);
    // x = [1, 3]: mean 2, biased variance 1, so (x - 2) / sqrt(1 + eps)
    const ln = vals(run('layer_norm', [f([2], [1, 3]), f([2], [2, 2]), f([2], [0, 1])], { eps: 0 }));
    expect(ln).toEqual([-2, 3]);
  });
  it('applies a causal mask offset by the cached length', () => {
    // one query at the last of 2 keys sees both; with causal and Sq = Sk = 2 the first sees only key 0
    const q = f([1, 2, 1], [0, 0]);
    const k = f([1, 2, 1], [0, 0]);
    const v = f([1, 2, 1], [2, 4]);
    expect(vals(run('attention', [q, k, v], { scale: 1, causal: true }))).toEqual([2, 3]);
    const q1 = f([1, 1, 1], [0]);
    expect(vals(run('attention', [q1, k, v], { scale: 1, causal: true }))).toEqual([3]);
  });
  it('rotates interleaved pairs', () => {
    const x = f([4], [1, 2, 3, 4]);
    const r = vals(run('rope', [x, f([2], [0, -1]), f([2], [1, 0])]));
    expect(r).toEqual([-2, 1, -3, -4]);
  });
  it('reduces over an axis', () => {
    const x = f([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(vals(run('sum', [x], { axis: 0, keepdims: false }))).toEqual([5, 7, 9]);
    expect(vals(run('mean', [x], { axis: 1, keepdims: true }))).toEqual([2, 5]);
    expect(vals(run('max_reduce', [x], { axis: -1, keepdims: false }))).toEqual([3, 6]);
  });
});

describe('type rules', () => {
  const t = (shape: (number | ReturnType<typeof sym>)[]) => ({ dtype: 'f32' as const, shape });
  it('infers symbolic shapes', () => {
    const out = getOp('matmul').inferType([t([sym('B'), sym('S'), 64]), t([64, 192])], {});
    expect(out.shape).toEqual([sym('B'), sym('S'), 192]);
  });
  it('rejects what does not fit, with the shapes in the message', () => {
    expect(() => getOp('matmul').inferType([t([sym('S'), 64]), t([32, 8])], {})).toThrow(OpTypeError);
    expect(() => getOp('rope').inferType([t([4, 5]), t([2]), t([2])], {})).toThrow(/must be even/);
    expect(() => getOp('reshape').inferType([t([sym('S'), 6])], { shape: [sym('S'), 4] })).toThrow(/6\*S elements|S\*6|elements/);
  });
  it('rejects a non-positive attention scale', () => {
    const qkv = [t([2, 3, 4]), t([2, 5, 4]), t([2, 5, 4])];
    expect(getOp('attention').inferType(qkv, { scale: 0.5, causal: true }).shape).toEqual([2, 3, 4]);
    for (const scale of [0, -0.5, NaN])
      expect(() => getOp('attention').inferType(qkv, { scale, causal: true })).toThrow(OpTypeError);
    expect(() => getOp('attention').inferType(qkv, { scale: -1, causal: false })).toThrow(/scale must be > 0, got -1/);
  });
});
