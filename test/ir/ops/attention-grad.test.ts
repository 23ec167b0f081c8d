// Reference semantics of attention's gradient ops (src/ir/ops/attention-grad.ts) against values
// worked out by hand: two queries that are the last of three keys (causal, so query 0 sees keys
// 0 and 1, query 1 all three), head size 1, scale 1; and the type rules' refusals.

import { describe, expect, it } from 'vitest';
import { getOp } from '../../../src/ir/registry.ts';
import type { RefTensor } from '../../../src/ir/reference.ts';
import { OpTypeError, tensorType } from '../../../src/ir/types.ts';

const env = { precision: 'f64' as const, dims: new Map<string, number>() };
const t = (shape: number[], data: number[]): RefTensor => ({ dtype: 'f32', shape, data: Float64Array.from(data) });
const E = Math.E;

// q = [1, 2], k = [0, 1, 2]: query 0's scores 0, 1; query 1's 0, 2, 4
const q = t([2, 1], [1, 2]);
const k = t([3, 1], [0, 1, 2]);
const Z1 = 1 + E ** 2 + E ** 4;
const P = [[1 / (1 + E), E / (1 + E), 0], [1 / Z1, E ** 2 / Z1, E ** 4 / Z1]];
// v = [1, 0, 0] and dout = [1, 10]: dP_ij = dout_i v_j, so delta_i = sum_j P_ij dP_ij = dout_i P_i0
const v = t([3, 1], [1, 0, 0]);
const dout = t([2, 1], [1, 10]);
const delta = t([2], [P[0][0], 10 * P[1][0]]);
const attrs = { scale: 1, causal: true };

describe('attention_lse and attention_grad (hand-worked)', () => {
  it('lse: each query over the keys it sees', () => {
    const lse = getOp('attention_lse').evaluate([q, k], attrs, env);
    expect(lse.shape).toEqual([2]);
    expect(lse.data[0]).toBeCloseTo(Math.log(1 + E), 14);
    expect(lse.data[1]).toBeCloseTo(Math.log(Z1), 14);
  });

  it('the gradients of v, q and k', () => {
    const lse = getOp('attention_lse').evaluate([q, k], attrs, env);
    const grad = (wrt: string) => Array.from(getOp('attention_grad').evaluate([q, k, v, dout, lse, delta], { ...attrs, wrt }, env).data);
    // dV_j = sum_i P_ij dout_i; key 2 is seen by query 1 alone
    const dv = grad('v');
    [P[0][0] + 10 * P[1][0], P[0][1] + 10 * P[1][1], 10 * P[1][2]].forEach((want, j) => expect(dv[j]).toBeCloseTo(want, 14));
    // dS_ij = P_ij (dP_ij - delta_i); dQ_i = sum_j dS_ij k_j. For query 0 this is d/dq of
    // softmax([0, q])_0 at q = 1, -e / (1 + e)^2.
    const dS = P.map((row, i) => row.map((p, j) => p * (dout.data[i] * v.data[j] - delta.data[i])));
    const dq = grad('q');
    expect(dq[0]).toBeCloseTo(-E / (1 + E) ** 2, 14);
    expect(dq[1]).toBeCloseTo(dS[1][1] * 1 + dS[1][2] * 2, 14);
    // dK_j = sum_i dS_ij q_i
    const dk = grad('k');
    [dS[0][0] * 1 + dS[1][0] * 2, dS[0][1] * 1 + dS[1][1] * 2, dS[1][2] * 2].forEach((want, j) => expect(dk[j]).toBeCloseTo(want, 14));
  });

  it('the type rules: shapes of the gradients, and what they refuse', () => {
    const f = (shape: number[]) => tensorType('f32', shape);
    const types = [f([2, 3, 4]), f([2, 5, 4]), f([2, 5, 6]), f([2, 3, 6]), f([2, 3]), f([2, 3])];
    const inferGrad = (wrt: string, ts = types) => getOp('attention_grad').inferType(ts, { scale: 0.5, causal: true, wrt });
    expect(inferGrad('q').shape).toEqual([2, 3, 4]);
    expect(inferGrad('k').shape).toEqual([2, 5, 4]);
    expect(inferGrad('v').shape).toEqual([2, 5, 6]);
    expect(getOp('attention_lse').inferType([types[0], types[1]], { scale: 0.5, causal: true }).shape).toEqual([2, 3]);
    expect(() => inferGrad('x')).toThrow(/wrt must be 'q', 'k' or 'v'/);
    expect(() => inferGrad('q', [...types.slice(0, 4), f([2, 5]), types[5]])).toThrow(OpTypeError);
    expect(() => inferGrad('q', [types[0], types[1], f([3, 5, 6]), ...types.slice(3)])).toThrow(OpTypeError);
    expect(() => getOp('attention_lse').inferType([types[0], f([2, 5, 3])], { scale: 0.5, causal: true })).toThrow(/must be \[\.\.\., Sq, D\] and \[\.\.\., Sk, D\]/);
    expect(() => getOp('attention_lse').inferType([types[0], types[1]], { scale: 0, causal: true })).toThrow(/scale must be > 0/);
  });
});
