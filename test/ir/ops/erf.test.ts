// erf's reference semantics (src/ir/ops/erf.ts) against values computed with mpmath at 40
// digits, and against the test oracle's independent Romberg integration.

import { describe, expect, it } from 'vitest';
import { erf } from '../../../src/ir/ops/erf.ts';
import { getOp } from '../../../src/ir/registry.ts';
import { erfF64 } from '../../helpers/gpt2-f64.ts';

// mpmath.erf(x) with mp.dps = 40, rounded to 25 digits
const KNOWN: [number, number][] = [
  [1e-300, 1.128379167095512573896159e-300],
  [1e-10, 1.128379167095512573892398e-10],
  [0.001, 0.001128378790969236379948478],
  [0.1, 0.1124629160182848922032751],
  [0.5, 0.5204998778130465376827467],
  [0.8, 0.7421009647076604861671106],
  [1, 0.8427007929497148693412206],
  [1.2, 0.9103139782296353802384058],
  [1.5, 0.9661051464753107270669763],
  [1.9, 0.9927904292352574699483575],
  [2, 0.9953222650189527341620693],
  [2.5, 0.9995930479825550410604358],
  [3, 0.9999779095030014145586272],
  [4, 0.9999999845827420997199811],
  [5, 0.999999999998462540205572],
  [5.9, 0.9999999999999999280959022],
  [6, 0.9999999999999999784802633],
  [10, 1],
];

describe('erf (float64)', () => {
  it('matches mpmath to 1e-15, relatively near 0', () => {
    for (const [x, want] of KNOWN) {
      const tol = 1e-15 * Math.max(Math.abs(want), Number.MIN_VALUE);
      expect(Math.abs(erf(x) - want), `erf(${x})`).toBeLessThanOrEqual(tol);
      expect(Math.abs(erf(-x) + want), `erf(${-x})`).toBeLessThanOrEqual(tol);
    }
  });

  it('is odd, keeps -0, saturates to +-1 and passes NaN', () => {
    expect(Object.is(erf(0), 0)).toBe(true);
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(-1e300)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });

  it('agrees with the oracle across both branches (series below 2, continued fraction above)', () => {
    for (let x = -7; x <= 7; x += 0.0371) expect(Math.abs(erf(x) - erfF64(x)), `x = ${x}`).toBeLessThan(1e-13);
  });

  it('is the erf op: float tensors only, f64 and f32 storage', () => {
    const op = getOp('erf');
    expect(op.inferType([{ dtype: 'f32', shape: [2] }], {})).toEqual({ dtype: 'f32', shape: [2] });
    expect(() => op.inferType([{ dtype: 'i32', shape: [2] }], {})).toThrow(/erf: expected a float tensor/);
    const x = { dtype: 'f32' as const, shape: [3], data: Float64Array.from([-1, 0.5, 3]) };
    const want = [-0.8427007929497148693, 0.5204998778130465377, 0.9999779095030014146];
    const f64 = op.evaluate([x], {}, { precision: 'f64', dims: new Map() });
    expect(f64.data).toBeInstanceOf(Float64Array);
    f64.data.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-15));
    const f32 = op.evaluate([x], {}, { precision: 'f32', dims: new Map() });
    expect(f32.data).toBeInstanceOf(Float32Array);
    expect(Array.from(f32.data)).toEqual(want.map(Math.fround));
  });
});
