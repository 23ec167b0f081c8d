import { describe, expect, it } from 'vitest';
import { dimAdd, dimDivExact, dimEq, dimEval, dimMul, dimSub, dimToString, parseDim, sym } from '../../src/ir/dims.ts';

describe('symbolic dims', () => {
  const B = sym('B');
  const S = sym('S');
  it('keeps polynomials canonical', () => {
    expect(dimToString(dimAdd(dimMul(B, S), 3))).toBe('B*S + 3');
    expect(dimEq(dimMul(S, B), dimMul(B, S))).toBe(true);
    expect(dimEq(dimSub(dimAdd(S, 2), 2), S)).toBe(true);
    expect(dimToString(dimSub(dimAdd(S, 2), S))).toBe('2');
    expect(dimSub(S, S)).toBe(0);
    expect(dimToString(dimSub(sym('P'), dimMul(S, 2)))).toBe('P - 2*S');
  });
  it('divides exactly or not at all', () => {
    expect(dimDivExact(9, 2)).toBeUndefined();
    expect(dimDivExact(64, 2)).toBe(32);
    expect(dimToString(dimDivExact(dimMul(S, 4), 2)!)).toBe('2*S');
    expect(dimDivExact(dimAdd(S, 1), 2)).toBeUndefined();
  });
  it('evaluates with bindings and parses its own text', () => {
    const d = dimAdd(dimMul(B, S), dimMul(sym('P'), -1));
    expect(dimEval(d, new Map([['B', 2], ['S', 5], ['P', 3]]))).toBe(7);
    expect(dimEq(parseDim(dimToString(d)), d)).toBe(true);
    expect(() => dimEval(S, new Map())).toThrow(/'S' is not bound/);
  });
});
