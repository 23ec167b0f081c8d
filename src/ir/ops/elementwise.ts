// Elementwise ops: unary math, binary arithmetic with NumPy broadcasting, dtype casts.
// Each op is one scalar function; the type rule and the loop are shared.

import { DTYPE_NAMES, isDType } from '../dtypes.ts';
import { defineOps, type OpDef } from '../registry.ts';
import { OpTypeError, type DType, tensorType } from '../types.ts';
import { alloc, broadcastIndex, broadcastShapes } from '../reference.ts';
import { broadcastTypes, requireFloat, sameDtype } from './common.ts';
import { erf } from './erf.ts';

function unary(name: string, summary: string, f: (x: number) => number, floatOnly = true): OpDef<{}> {
  return {
    name,
    summary,
    category: 'elementwise',
    arity: [1, 1],
    pure: true,
    inferType: ([x]) => {
      if (floatOnly) requireFloat(name, x);
      return x;
    },
    evaluate: ([x], _, env) => {
      const out = alloc(x.dtype, x.shape, env);
      for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]);
      return out;
    },
  };
}

function binary(name: string, summary: string, f: (a: number, b: number) => number, intOk: boolean): OpDef<{}> {
  return {
    name,
    summary,
    category: 'elementwise',
    arity: [2, 2],
    pure: true,
    inferType: ([a, b]) => {
      sameDtype(name, a, b);
      if (!intOk) requireFloat(name, a);
      return tensorType(a.dtype, broadcastTypes(name, a, b));
    },
    evaluate: ([a, b], _, env) => {
      const shape = broadcastShapes(a.shape, b.shape)!;
      const out = alloc(a.dtype, shape, env);
      const ia = broadcastIndex(a.shape, shape);
      const ib = broadcastIndex(b.shape, shape);
      // i32 results wrap like 32-bit hardware integers do.
      const wrap = a.dtype === 'i32' ? (v: number) => v | 0 : (v: number) => v;
      for (let i = 0; i < out.data.length; i++) out.data[i] = wrap(f(a.data[ia[i]], b.data[ib[i]]));
      return out;
    },
  };
}

export interface CastAttrs { to: DType }

const cast: OpDef<CastAttrs> = {
  name: 'cast',
  summary: 'convert dtype (f32 -> i32 truncates toward zero)',
  category: 'elementwise',
  arity: [1, 1],
  pure: true,
  inferType: ([x], a) => {
    if (!isDType(a.to)) throw new OpTypeError(`cast: unknown dtype ${String(a.to)} (dtypes: ${DTYPE_NAMES.join(', ')})`);
    return tensorType(a.to, x.shape);
  },
  evaluate: ([x], a, env) => {
    const out = alloc(a.to, x.shape, env);
    for (let i = 0; i < x.data.length; i++) out.data[i] = a.to === 'i32' ? Math.trunc(x.data[i]) : x.data[i];
    return out;
  },
};

export const elementwiseOps = defineOps({
  neg: unary('neg', '-x', (x) => -x, false),
  exp: unary('exp', 'e^x', Math.exp),
  log: unary('log', 'natural logarithm', Math.log),
  sqrt: unary('sqrt', 'square root', Math.sqrt),
  tanh: unary('tanh', 'hyperbolic tangent', Math.tanh),
  erf: unary('erf', 'error function (2/sqrt(pi)) * integral_0^x e^{-t^2} dt', erf),
  sin: unary('sin', 'sine (radians)', Math.sin),
  cos: unary('cos', 'cosine (radians)', Math.cos),
  abs: unary('abs', '|x|', Math.abs, false),
  add: binary('add', 'a + b', (a, b) => a + b, true),
  sub: binary('sub', 'a - b', (a, b) => a - b, true),
  mul: binary('mul', 'a * b', (a, b) => a * b, true),
  div: binary('div', 'a / b (float)', (a, b) => a / b, false),
  pow: binary('pow', 'a ** b (float)', Math.pow, false),
  max: binary('max', 'elementwise maximum', Math.max, true),
  min: binary('min', 'elementwise minimum', Math.min, true),
  cast,
});
