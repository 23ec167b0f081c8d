// The language's builtin functions, each a thin mapping from checked arguments to IR ops.
// docs/language.md lists them for users.

import type { SourceLocation } from './diagnostics.ts';
import { type Dim, dimToString } from '../ir/dims.ts';
import type { Elaborator } from './elaborate.ts';
import { erf } from '../ir/ops/erf.ts';
import { asTensor, isFloatOperand, positiveDim } from './expressions.ts';
import type { ArgValue } from './functions.ts';
import { describe, POISON, type Value } from './values.ts';

type Tensor = Extract<Value, { kind: 'tensor' }>;
type Kind = 'tensor' | 'tensorOrNumber' | 'int' | 'number' | 'dims' | 'ints';
type Checked = Tensor | number | Dim[] | number[] | Value;
type Handler = (el: Elaborator, a: Checked[], loc: SourceLocation, raw: ArgValue[]) => Value;

interface Builtin {
  args: Kind[];
  /** further arguments of the last kind are allowed (concat) */
  variadic?: boolean;
  run: Handler;
}

const unary = (op: 'exp' | 'log' | 'sqrt' | 'tanh' | 'erf' | 'sin' | 'cos' | 'abs', f: (x: number) => number): Builtin => ({
  args: ['tensorOrNumber'],
  run: (el, [x], loc) => {
    const v = x as Value;
    // Compile-time numbers fold here, so `sqrt(2.0 / 3.14159)` stays a constant.
    if (v.kind === 'float' || v.kind === 'dim') {
      const arg = v.kind === 'float' ? v.value : (v.dim as number);
      const value = f(arg);
      // `log(0.0)`, `sqrt(-1.0)`, `exp(1000.0)`: an infinity or NaN constant is an error here, not a surprise later.
      return Number.isFinite(value) ? { kind: 'float', value } : el.error(loc, `${op}(${arg}) is ${value}, not a finite number`);
    }
    return el.op(op, [asFloat(el, v as Tensor, loc)], {}, loc);
  },
});

function asFloat(el: Elaborator, t: Tensor, loc: SourceLocation): Value {
  return asTensor(el, t, 'f32', loc);
}

/** Elementwise `max`/`min` of two tensors or numbers, broadcast, with arithmetic's dtype rule (any float makes f32). */
const extremum = (op: 'max' | 'min', f: (a: number, b: number) => number): Builtin => ({
  args: ['tensorOrNumber', 'tensorOrNumber'],
  run: (el, [a, b], loc) => {
    const [va, vb] = [a as Value, b as Value];
    if (va.kind !== 'tensor' && vb.kind !== 'tensor') {
      const [x, y] = [va, vb].map((v) => (v.kind === 'float' ? v.value : v.kind === 'dim' ? (v.dim as number) : NaN));
      return isFloatOperand(va) || isFloatOperand(vb) ? { kind: 'float', value: f(x, y) } : { kind: 'dim', dim: f(x, y) };
    }
    const dtype = isFloatOperand(va) || isFloatOperand(vb) ? 'f32' : 'i32';
    return el.op(op, [asTensor(el, va, dtype, loc), asTensor(el, vb, dtype, loc)], {}, loc);
  },
});

const reduce = (op: 'sum' | 'mean' | 'max_reduce'): Builtin => ({
  args: ['tensor', 'int'],
  run: (el, [x, axis], loc) => el.op(op, [op === 'mean' ? asFloat(el, x as Tensor, loc) : (x as Tensor)], { axis: axis as number, keepdims: false }, loc),
});

export const BUILTIN_TABLE: Record<string, Builtin> = {
  exp: unary('exp', Math.exp),
  log: unary('log', Math.log),
  sqrt: unary('sqrt', Math.sqrt),
  tanh: unary('tanh', Math.tanh),
  erf: unary('erf', erf),
  sin: unary('sin', Math.sin),
  cos: unary('cos', Math.cos),
  abs: unary('abs', Math.abs),
  sum: reduce('sum'),
  mean: reduce('mean'),
  max: reduce('max_reduce'),
  maximum: extremum('max', Math.max),
  minimum: extremum('min', Math.min),
  softmax: { args: ['tensor', 'int'], run: (el, [x, axis], loc) => el.op('softmax', [x as Tensor], { axis: axis as number }, loc) },
  layer_norm: {
    args: ['tensor', 'tensor', 'tensor', 'number'],
    run: (el, [x, w, b, eps], loc) => el.op('layer_norm', [x as Tensor, w as Tensor, b as Tensor], { eps: eps as number }, loc),
  },
  reshape: { args: ['tensor', 'dims'], run: (el, [x, shape], loc) => el.op('reshape', [x as Tensor], { shape: shape as Dim[] }, loc) },
  transpose: { args: ['tensor', 'ints'], run: (el, [x, perm], loc) => el.op('transpose', [x as Tensor], { perm: perm as number[] }, loc) },
  slice: {
    args: ['tensor', 'int', 'int', 'int'],
    run: (el, [x, axis, start, end], loc) => el.op('slice', [x as Tensor], { axis: axis as number, start: start as number, end: end as number }, loc),
  },
  concat: { args: ['int', 'tensor'], variadic: true, run: (el, [axis, ...xs], loc) => el.op('concat', xs as Tensor[], { axis: axis as number }, loc) },
  gather: { args: ['tensor', 'tensor'], run: (el, [table, ids], loc) => el.op('gather', [table as Tensor, ids as Tensor], {}, loc) },
  outer: {
    args: ['tensor', 'tensor'],
    run: (el, [a, b], loc) => {
      const [ta, tb] = [a as Tensor, b as Tensor];
      if (ta.type.shape.length !== 1 || tb.type.shape.length !== 1)
        return el.error(loc, `outer: expected two vectors, got ${describe(ta)} and ${describe(tb)}`);
      const col = el.op('reshape', [ta], { shape: [ta.type.shape[0], 1] }, loc);
      const row = el.op('reshape', [tb], { shape: [1, tb.type.shape[0]] }, loc);
      const dtype = ta.type.dtype === 'f32' || tb.type.dtype === 'f32' ? 'f32' : 'i32';
      return el.op('mul', [asTensor(el, col, dtype, loc), asTensor(el, row, dtype, loc)], {}, loc);
    },
  },
  arange: { args: ['int'], run: (el, [n], loc, raw) => el.op('iota', [], { length: dimArg(raw[0]) ?? (n as number) }, loc) },
  linspace: {
    args: ['number', 'number', 'int'],
    run: (el, [start, stop, n], loc) => {
      const count = n as number;
      if (count < 1) return el.error(loc, `linspace: needs at least 1 point, got ${count}`);
      const step = count === 1 ? 0 : ((stop as number) - (start as number)) / (count - 1);
      const ramp = asTensor(el, el.op('iota', [], { length: count }, loc), 'f32', loc);
      const scaled = el.op('mul', [ramp, el.op('const', [], { dtype: 'f32', value: step }, loc)], {}, loc);
      return el.op('add', [scaled, el.op('const', [], { dtype: 'f32', value: start as number }, loc)], {}, loc);
    },
  },
  causal_attention: {
    args: ['tensor', 'tensor', 'tensor'],
    run: (el, [q, k, v], loc) => {
      const d = (q as Tensor).type.shape.at(-1);
      if (typeof d !== 'number') return el.error(loc, `causal_attention: the head size must be a compile-time integer, got ${d === undefined ? 'a scalar' : dimToString(d)}`);
      return el.op('attention', [q as Tensor, k as Tensor, v as Tensor], { scale: 1 / Math.sqrt(d), causal: true }, loc);
    },
  },
  rope: { args: ['tensor', 'tensor', 'tensor'], run: (el, [x, c, s], loc) => el.op('rope', [x as Tensor, c as Tensor, s as Tensor], {}, loc) },
  float: { args: ['tensor'], run: (el, [x], loc) => asTensor(el, x as Tensor, 'f32', loc) },
  int: { args: ['tensor'], run: (el, [x], loc) => asTensor(el, x as Tensor, 'i32', loc) },
};

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(Object.entries(BUILTIN_TABLE));

/** `arange(S)` keeps a symbolic size symbolic. */
function dimArg(a: ArgValue): Dim | undefined {
  return a.value.kind === 'dim' ? a.value.dim : undefined;
}

function check(el: Elaborator, name: string, i: number, kind: Kind, a: ArgValue): Checked | undefined {
  const v = a.value;
  const bad = (what: string) => void el.error(a.loc, `${name}: argument ${i + 1} must be ${what}, got ${describe(v)}`);
  switch (kind) {
    case 'tensorOrNumber':
      if (v.kind === 'tensor' || v.kind === 'float' || (v.kind === 'dim' && typeof v.dim === 'number')) return v;
      return bad('a tensor or a number');
    case 'tensor':
      if (v.kind === 'tensor') return v;
      if (v.kind === 'float' || v.kind === 'dim') {
        const t = asTensor(el, v, v.kind === 'float' ? 'f32' : 'i32', a.loc);
        return t.kind === 'tensor' ? t : undefined;
      }
      return bad('a tensor');
    case 'int':
      if (v.kind === 'dim' && typeof v.dim === 'number') return v.dim;
      if (name === 'arange' && v.kind === 'dim') return 0; // symbolic length, taken by dimArg
      return bad('a compile-time integer');
    case 'number':
      if (v.kind === 'float') return v.value;
      if (v.kind === 'dim' && typeof v.dim === 'number') return v.dim;
      return bad('a number');
    case 'dims':
    case 'ints': {
      if (v.kind !== 'list') return bad('a list such as [B, S, 64]');
      const out: Dim[] = [];
      for (const [j, item] of v.items.entries()) {
        if (item.kind !== 'dim' || (kind === 'ints' && typeof item.dim !== 'number'))
          return bad(kind === 'ints' ? 'a list of integers' : 'a list of sizes');
        // A shape's sizes must be positive (reported at the item: `[B, S, n_head, D]` with n_head -4).
        if (kind === 'dims' && !positiveDim(el, item.dim, a.expr?.kind === 'list' ? a.expr.items[j] : { loc: a.loc })) return undefined;
        out.push(item.dim);
      }
      return out;
    }
  }
}

export function callBuiltin(el: Elaborator, name: string, args: readonly ArgValue[], loc: SourceLocation): Value {
  const b = BUILTINS.get(name)!;
  if (args.some((a) => a.value.kind === 'poison')) return POISON;
  const named = args.find((a) => a.name !== undefined);
  if (named) return el.error(named.nameLoc ?? named.loc, `${name}: builtins take positional arguments only`);
  const arityOk = b.variadic ? args.length >= b.args.length : args.length === b.args.length;
  if (!arityOk)
    return el.error(loc, `${name} takes ${b.variadic ? 'at least ' : ''}${b.args.length} argument${b.args.length === 1 ? '' : 's'}, got ${args.length}`);
  const checked: Checked[] = [];
  for (let i = 0; i < args.length; i++) {
    const c = check(el, name, i, b.args[Math.min(i, b.args.length - 1)], args[i]);
    if (c === undefined) return POISON;
    checked.push(c);
  }
  return b.run(el, checked, loc, [...args]);
}
