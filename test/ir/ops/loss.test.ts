// Reference semantics of the training ops against values worked out by hand.

import { describe, expect, it } from 'vitest';
import { getOp } from '../../../src/ir/registry.ts';
import type { RefTensor } from '../../../src/ir/reference.ts';

const env = { precision: 'f64' as const, dims: new Map<string, number>() };
const t = (dtype: 'f32' | 'i32', shape: number[], data: number[]): RefTensor => ({ dtype, shape, data: dtype === 'i32' ? Int32Array.from(data) : Float64Array.from(data) });

describe('loss and scatter ops', () => {
  it('cross_entropy: -log softmax at the label, stable for large logits', () => {
    const out = getOp('cross_entropy').evaluate([t('f32', [2, 3], [0, Math.log(2), Math.log(3), 1000, 1000, 1000]), t('i32', [2], [2, 0])], {}, env);
    expect(out.data[0]).toBeCloseTo(Math.log(2), 14); // -log(3 / (1 + 2 + 3))
    expect(out.data[1]).toBeCloseTo(Math.log(3), 12);
    expect(() => getOp('cross_entropy').evaluate([t('f32', [1, 3], [0, 0, 0]), t('i32', [1], [3])], {}, env)).toThrow(/label 3 at position 0 is outside \[0, 3\)/);
  });
  it('one_hot', () => {
    expect(Array.from(getOp('one_hot').evaluate([t('i32', [2], [2, 0])], { depth: 3, dtype: 'f32' }, env).data)).toEqual([0, 0, 1, 1, 0, 0]);
  });
  it('scatter_add sums the rows of repeated ids', () => {
    const out = getOp('scatter_add').evaluate([t('i32', [3], [1, 3, 1]), t('f32', [3, 2], [1, 2, 10, 20, 100, 200])], { rows: 4 }, env);
    expect(out.shape).toEqual([4, 2]);
    expect(Array.from(out.data)).toEqual([0, 0, 101, 202, 0, 0, 10, 20]);
    expect(() => getOp('scatter_add').evaluate([t('i32', [2], [1, 4]), t('f32', [2], [1, 2])], { rows: 4 }, env)).toThrow(/index 4 at position 1 is out of range for 4 rows/);
  });
  it('one_hot and cross_entropy refuse a label outside the classes; both run in an f32 environment', () => {
    expect(() => getOp('one_hot').evaluate([t('i32', [2], [0, -1])], { depth: 3, dtype: 'f32' }, env)).toThrow(/label -1 at position 1 is outside \[0, 3\)/);
    const f32 = { precision: 'f32' as const, dims: new Map<string, number>() };
    const out = getOp('cross_entropy').evaluate([t('f32', [1, 3], [0, Math.log(2), Math.log(3)]), t('i32', [1], [0])], {}, f32);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(out.data[0]).toBeCloseTo(Math.log(6), 6); // -log(1 / 6)
  });
  it('compare gives 1 or 0 in the operands\' dtype', () => {
    const out = getOp('compare').evaluate([t('f32', [3], [1, 2, 3]), t('f32', [], [2])], { cmp: 'ge' }, env);
    expect(Array.from(out.data)).toEqual([0, 1, 1]);
  });
  it('attention_lse of one query over two keys', () => {
    // scores 1*1*0.5 = 0.5 and 1*3*0.5 = 1.5: lse = log(e^0.5 + e^1.5)
    const out = getOp('attention_lse').evaluate([t('f32', [1, 1], [1]), t('f32', [2, 1], [1, 3])], { scale: 0.5, causal: false }, env);
    expect(out.data[0]).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(1.5)), 14);
  });
});
