// Elementwise ops: unary math, binary arithmetic with NumPy broadcasting, dtype casts.
// Each op is one scalar function; the type rule and the loop are shared.

import { DTYPE_NAMES, isDType } from '../dtypes.ts';
import { defineOps, type OpDef } from '../registry.ts';
import { OpTypeError, type DType, tensorType } from '../types.ts';
import { alloc, broadcastIndex, broadcastShapes, type EvalEnv, type RefTensor } from '../reference.ts';
import { broadcastTypes, requireFloat, sameDtype } from './common.ts';
import { erf } from './erf.ts';
import { mul, neg, scalar, sub, sumTo, type GradGraph, type Vjp } from '../vjp.ts';

function unary(name: string, summary: string, f: (x: number) => number, vjp: Vjp<{}> | undefined, floatOnly = true): OpDef<{}> {
  return {
    name,
    summary,
    ...(vjp ? { vjp } : {}),
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

/** f at every index of a and b broadcast together (NumPy rules). */
function pointwise(a: RefTensor, b: RefTensor, env: EvalEnv, f: (x: number, y: number) => number): RefTensor {
  const shape = broadcastShapes(a.shape, b.shape)!;
  const out = alloc(a.dtype, shape, env);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = f(a.data[ia[i]], b.data[ib[i]]);
  return out;
}

function binary(name: string, summary: string, f: (a: number, b: number) => number, intOk: boolean, vjp?: Vjp<{}>): OpDef<{}> {
  return {
    name,
    summary,
    ...(vjp ? { vjp } : {}),
    category: 'elementwise',
    arity: [2, 2],
    pure: true,
    inferType: ([a, b]) => {
      sameDtype(name, a, b);
      if (!intOk) requireFloat(name, a);
      return tensorType(a.dtype, broadcastTypes(name, a, b));
    },
    // i32 results wrap like 32-bit hardware integers do.
    evaluate: ([a, b], _, env) => pointwise(a, b, env, a.dtype === 'i32' ? (x, y) => f(x, y) | 0 : f),
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

/** d/dx of a unary op as a function of (x, y): the gradient is dy * d. */
function chain(d: (g: GradGraph, x: number, y: number) => number): Vjp<{}> {
  return (g, n, dy) => [mul(g, dy, d(g, n.inputs[0], n.output))];
}

/** The gradient of one operand of a binary op y = f(a, b), before broadcasting is undone. */
type OperandGradient = (g: GradGraph, dy: number, a: number, b: number, y: number) => number;

/** A binary op's gradients, each summed back over what broadcasting added. */
function pairwise(da: OperandGradient, db: OperandGradient): Vjp<{}> {
  return (g, n, dy) => {
    const [a, b] = n.inputs;
    return [
      n.wants(0) ? sumTo(g, da(g, dy, a, b, n.output), g.type(a).shape) : undefined,
      n.wants(1) ? sumTo(g, db(g, dy, a, b, n.output), g.type(b).shape) : undefined,
    ];
  };
}

export const COMPARISONS = { eq: (a: number, b: number) => a === b, lt: (a: number, b: number) => a < b, le: (a: number, b: number) => a <= b, gt: (a: number, b: number) => a > b, ge: (a: number, b: number) => a >= b } as const;
export type Comparison = keyof typeof COMPARISONS;
export interface CompareAttrs { cmp: Comparison }

/** a <cmp> b as 1 or 0 in the operands' dtype (the IR has no bool): a mask gradients multiply by. */
const compare: OpDef<CompareAttrs> = {
  name: 'compare',
  summary: 'a <cmp> b (eq, lt, le, gt, ge) as 1 or 0 of the operands\' dtype, NumPy broadcasting',
  category: 'elementwise',
  arity: [2, 2],
  pure: true,
  // piecewise constant: no gradient flows through a mask
  vjp: () => [undefined, undefined],
  inferType: ([a, b], attrs) => {
    if (!Object.prototype.hasOwnProperty.call(COMPARISONS, attrs.cmp)) throw new OpTypeError(`compare: cmp must be one of ${Object.keys(COMPARISONS).join(', ')}, got ${String(attrs.cmp)}`);
    sameDtype('compare', a, b);
    return tensorType(a.dtype, broadcastTypes('compare', a, b));
  },
  evaluate: ([a, b], attrs, env) => {
    const f = COMPARISONS[attrs.cmp];
    return pointwise(a, b, env, (x, y) => (f(x, y) ? 1 : 0));
  },
};

const cmp = (g: GradGraph, a: number, b: number, how: Comparison) => g.add('compare', [a, b], { cmp: how });
/**
 * Where the operands tie, each gets half the gradient (PyTorch's rule for maximum/minimum);
 * elsewhere the one chosen gets all of it.
 */
const chosen = (g: GradGraph, a: number, b: number, wins: Comparison) => g.add('add', [cmp(g, a, b, wins), mul(g, cmp(g, a, b, 'eq'), scalar(g, 0.5))]);

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

export const elementwiseOps = defineOps({
  neg: unary('neg', '-x', (x) => -x, (g, _n, dy) => [neg(g, dy)], false),
  exp: unary('exp', 'e^x', Math.exp, chain((_g, _x, y) => y)),
  log: unary('log', 'natural logarithm', Math.log, (g, n, dy) => [g.add('div', [dy, n.inputs[0]])]),
  sqrt: unary('sqrt', 'square root', Math.sqrt, (g, n, dy) => [g.add('div', [dy, mul(g, scalar(g, 2), n.output)])]),
  tanh: unary('tanh', 'hyperbolic tangent', Math.tanh, chain((g, _x, y) => sub(g, scalar(g, 1), mul(g, y, y)))),
  erf: unary('erf', 'error function (2/sqrt(pi)) * integral_0^x e^{-t^2} dt', erf, chain((g, x) => mul(g, scalar(g, TWO_OVER_SQRT_PI), g.add('exp', [neg(g, mul(g, x, x))])))),
  sin: unary('sin', 'sine (radians)', Math.sin, chain((g, x) => g.add('cos', [x]))),
  cos: unary('cos', 'cosine (radians)', Math.cos, chain((g, x) => neg(g, g.add('sin', [x])))),
  // sign(x): 0 at 0, as PyTorch's abs gradient
  abs: unary('abs', '|x|', Math.abs, chain((g, x) => { const z = scalar(g, 0); return sub(g, cmp(g, x, z, 'gt'), cmp(g, x, z, 'lt')); }), false),
  add: binary('add', 'a + b', (a, b) => a + b, true, pairwise((_g, dy) => dy, (_g, dy) => dy)),
  sub: binary('sub', 'a - b', (a, b) => a - b, true, pairwise((_g, dy) => dy, (g, dy) => neg(g, dy))),
  mul: binary('mul', 'a * b', (a, b) => a * b, true, pairwise((g, dy, _a, b) => mul(g, dy, b), (g, dy, a) => mul(g, dy, a))),
  div: binary('div', 'a / b (float)', (a, b) => a / b, false, pairwise((g, dy, _a, b) => g.add('div', [dy, b]), (g, dy, _a, b, y) => neg(g, g.add('div', [mul(g, dy, y), b])))),
  pow: binary('pow', 'a ** b (float)', Math.pow, false, pairwise(
    (g, dy, a, b) => mul(g, dy, mul(g, b, g.add('pow', [a, sub(g, b, scalar(g, 1))]))),
    (g, dy, a, _b, y) => mul(g, dy, mul(g, y, g.add('log', [a]))),
  )),
  max: binary('max', 'elementwise maximum', Math.max, true, pairwise((g, dy, a, b) => mul(g, dy, chosen(g, a, b, 'gt')), (g, dy, a, b) => mul(g, dy, chosen(g, b, a, 'gt')))),
  min: binary('min', 'elementwise minimum', Math.min, true, pairwise((g, dy, a, b) => mul(g, dy, chosen(g, a, b, 'lt')), (g, dy, a, b) => mul(g, dy, chosen(g, b, a, 'lt')))),
  compare,
  cast: { ...cast, vjp: (g, n, dy) => [g.type(n.inputs[0]).dtype === 'f32' && g.type(n.output).dtype === 'f32' ? dy : undefined] },
});
