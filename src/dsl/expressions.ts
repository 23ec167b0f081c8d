// Expressions: compile-time arithmetic on ints, dims and floats, and tensor arithmetic that
// emits IR nodes with NumPy broadcasting and the dtype promotions of docs/language.md.

import type { BinaryExpr, Expr, TableExpr } from './ast.ts';
import type { SourceLocation } from './diagnostics.ts';
import { type Dim, dimAdd, dimDivExact, dimIsSafe, dimMul, dimSub, dimToString } from '../ir/dims.ts';
import type { DType } from '../ir/types.ts';
import type { Elaborator } from './elaborate.ts';
import { describe, POISON, type Scope, type Value } from './values.ts';
import { evalMatch } from './match.ts';

export function evalExpr(el: Elaborator, e: Expr, scope: Scope): Value {
  switch (e.kind) {
    case 'number':
      return e.isFloat ? { kind: 'float', value: e.value } : { kind: 'dim', dim: e.value };
    case 'bool':
      return { kind: 'bool', value: e.value };
    case 'string':
      return { kind: 'string', value: e.value };
    case 'name':
      return el.lookup(e.name, scope, e.loc);
    case 'unary': {
      const v = evalExpr(el, e.operand, scope);
      if (v.kind === 'poison') return v;
      if (v.kind === 'dim') return { kind: 'dim', dim: dimMul(v.dim, -1) };
      if (v.kind === 'float') return { kind: 'float', value: -v.value };
      if (v.kind === 'tensor') return el.op('neg', [v], {}, e.loc);
      return el.error(e.loc, `cannot negate ${describe(v)}`);
    }
    case 'binary':
      return binary(el, e, evalExpr(el, e.left, scope), evalExpr(el, e.right, scope));
    case 'call':
      return el.call(e, scope);
    case 'member':
      return el.member(e, scope);
    case 'list':
      return { kind: 'list', items: e.items.map((i) => evalExpr(el, i, scope)) };
    case 'table':
      return table(el, e, scope);
    case 'match':
      return evalMatch(el, e, scope);
  }
}

function isScalar(v: Value): v is Extract<Value, { kind: 'dim' | 'float' }> {
  return v.kind === 'dim' || v.kind === 'float';
}

/** Arithmetic's dtype rule: a float number or an f32 tensor makes an elementwise operation f32. */
export function isFloatOperand(v: Value): boolean {
  return v.kind === 'float' || (v.kind === 'tensor' && v.type.dtype === 'f32');
}

function binary(el: Elaborator, e: BinaryExpr, a: Value, b: Value): Value {
  if (a.kind === 'poison' || b.kind === 'poison') return POISON;
  if (isScalar(a) && isScalar(b)) return scalarArith(el, e, a, b);
  if (a.kind !== 'tensor' && !isScalar(a)) return el.error(e.left.loc, `'${e.op}' needs a number or tensor on the left, got ${describe(a)}`);
  if (b.kind !== 'tensor' && !isScalar(b)) return el.error(e.right.loc, `'${e.op}' needs a number or tensor on the right, got ${describe(b)}`);
  if (e.op === '@') {
    if (a.kind !== 'tensor' || b.kind !== 'tensor') return el.error(e.opLoc, `'@' needs two tensors, got ${describe(a)} @ ${describe(b)}`);
    return el.op('matmul', [a, b], {}, e.opLoc);
  }
  // Division and powers are float operations; otherwise an f32 operand makes both f32.
  const wantFloat = e.op === '/' || e.op === '**' || isFloatOperand(a) || isFloatOperand(b);
  const dtype: DType = wantFloat ? 'f32' : 'i32';
  const ta = asTensor(el, a, dtype, e.left.loc);
  const tb = asTensor(el, b, dtype, e.right.loc);
  if (ta.kind !== 'tensor' || tb.kind !== 'tensor') return POISON;
  const op = ({ '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '**': 'pow' } as const)[e.op];
  return el.op(op, [ta, tb], {}, e.opLoc);
}

/** A scalar or tensor as a tensor of `dtype` (scalars become constants, i32 tensors are cast). */
export function asTensor(el: Elaborator, v: Value, dtype: DType, loc: SourceLocation): Value {
  if (v.kind === 'poison') return v;
  if (v.kind === 'tensor') return v.type.dtype === dtype ? v : el.op('cast', [v], { to: dtype }, loc);
  if (v.kind === 'float') return el.op('const', [], { dtype: 'f32', value: v.value }, loc);
  if (v.kind === 'dim') {
    if (typeof v.dim !== 'number')
      return el.error(loc, `the symbolic size ${dimToString(v.dim)} is only known at run time and cannot be used as a value`);
    return el.op('const', [], { dtype, value: v.dim }, loc);
  }
  return el.error(loc, `expected a number or tensor, got ${describe(v)}`);
}

function scalarArith(el: Elaborator, e: BinaryExpr, a: Extract<Value, { kind: 'dim' | 'float' }>, b: Extract<Value, { kind: 'dim' | 'float' }>): Value {
  if (e.op === '@') return el.error(e.opLoc, `'@' needs two tensors, got ${describe(a)} @ ${describe(b)}`);
  const zero = () => el.error(e.opLoc, `division by zero${e.right.kind === 'name' ? ` (${e.right.name} is 0)` : ''}`);
  if (a.kind === 'dim' && b.kind === 'dim') {
    // Integers stay exact: a result beyond 2^53 - 1 would be rounded, so it is an error.
    const exact = (dim: Dim): Value =>
      dimIsSafe(dim) ? { kind: 'dim', dim } : el.error(e.loc, `${dimToString(a.dim)} ${e.op} ${dimToString(b.dim)} is too large for an integer (beyond 2^53 - 1 = ${Number.MAX_SAFE_INTEGER})`);
    switch (e.op) {
      case '+':
        return exact(dimAdd(a.dim, b.dim));
      case '-':
        return exact(dimSub(a.dim, b.dim));
      case '*':
        return exact(dimMul(a.dim, b.dim));
      case '/': {
        if (typeof b.dim !== 'number') return el.error(e.opLoc, `cannot divide by the symbolic size ${dimToString(b.dim)}`);
        if (b.dim === 0) return zero();
        const q = dimDivExact(a.dim, b.dim);
        if (q === undefined)
          return el.error(e.loc, `${dimToString(a.dim)} is not divisible by ${b.dim} (integer '/' must divide exactly; write a float such as ${b.dim}.0 for a fraction)`);
        return { kind: 'dim', dim: q };
      }
      case '**':
        if (typeof a.dim === 'number' && typeof b.dim === 'number' && b.dim >= 0) return exact(a.dim ** b.dim);
    }
  }
  const x = numberOf(el, a, e.left.loc);
  const y = numberOf(el, b, e.right.loc);
  if (x === undefined || y === undefined) return POISON;
  if (e.op === '/' && y === 0) return zero();
  const r = { '+': x + y, '-': x - y, '*': x * y, '/': x / y, '**': x ** y }[e.op];
  // An infinity or NaN folded into a constant would reach every backend unnoticed.
  if (!Number.isFinite(r)) return el.error(e.loc, `${x} ${e.op} ${y} is ${r}, not a finite number`);
  return { kind: 'float', value: r };
}

function numberOf(el: Elaborator, v: Extract<Value, { kind: 'dim' | 'float' }>, loc: SourceLocation): number | undefined {
  if (v.kind === 'float') return v.value;
  if (typeof v.dim === 'number') return v.dim;
  el.error(loc, `the symbolic size ${dimToString(v.dim)} cannot be mixed with floats`);
  return undefined;
}

/**
 * Whether `dim`, the value of `e`, can size a tensor: a compile-time one must be a positive
 * integer (a symbolic size is one by construction). Otherwise reports it at `e`, naming it, so
 * `--set n_head=-4` is an error where n_head sizes a type, not a NaN further on.
 */
export function positiveDim(el: Elaborator, dim: Dim, e: Expr | { loc: SourceLocation; kind?: undefined }): boolean {
  if (typeof dim !== 'number' || dim > 0) return true;
  el.error(e.loc, `tensor dimension ${e.kind === 'name' ? `${e.name} ` : ''}must be a positive integer, got ${dim}`);
  return false;
}

/** Evaluates to a dimension (an int or a symbolic size), or reports what it found instead. */
export function evalDim(el: Elaborator, e: Expr, scope: Scope): Dim | undefined {
  const v = evalExpr(el, e, scope);
  if (v.kind === 'dim') return v.dim;
  if (v.kind !== 'poison') el.error(e.loc, `expected an integer size, got ${describe(v)}`);
  return undefined;
}

/**
 * `[h: H, i: D / 2] => body`: index k is iota(extent_k) reshaped to vary along axis k only,
 * so ordinary broadcasting builds the table; the result is broadcast to the full shape.
 */
function table(el: Elaborator, e: TableExpr, scope: Scope): Value {
  const extents = e.indices.map((ix) => evalDim(el, ix.extent, scope));
  if (extents.some((d, k) => d === undefined || !positiveDim(el, d, e.indices[k].extent))) return POISON;
  const shape = extents as Dim[];
  const inner = el.childScope(scope);
  e.indices.forEach((ix, k) => {
    const ramp = el.op('iota', [], { length: shape[k] }, ix.name.loc, ix.name.name);
    const placed = shape.map((d, j) => (j === k ? d : 1));
    inner.define(ix.name.name, el.op('reshape', [ramp], { shape: placed }, ix.name.loc));
  });
  const body = evalExpr(el, e.body, inner);
  if (body.kind === 'poison') return body;
  const t = isScalar(body) ? asTensor(el, body, body.kind === 'float' ? 'f32' : 'i32', e.body.loc) : body;
  if (t.kind !== 'tensor') return el.error(e.body.loc, `a table's body must be a number or tensor, got ${describe(body)}`);
  return el.op('broadcast', [t], { shape }, e.loc);
}

