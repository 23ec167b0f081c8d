// WGSL lowerings of the elementwise ops: each is an expression of its operands at the same
// index (NumPy broadcasting maps the index), so chains of them fuse into one kernel. sin, cos,
// tanh and pow use rhc's helpers (backends/webgpu/wgsl.ts): WGSL's built-ins are not accurate
// enough everywhere; erf has no built-in at all. i32 arithmetic wraps, as the reference's does.

import { attrsOf } from '../../../src/ir/registry.ts';
import type { Node } from '../../../src/ir/graph.ts';
import type { KernelWriter } from '../kernel-writer.ts';
import { broadcastIndex, exprValue, type Value } from '../values.ts';
import { lazy, type WgslLowering } from '../lowering.ts';
import { literal } from '../wgsl.ts';
import type { elementwiseOps } from '../../../src/ir/ops/elementwise.ts';

function operand(k: KernelWriter, n: Node, x: Value, at: Parameters<Value['emit']>[1]): string {
  return x.emit(k, broadcastIndex(at, n.type.shape, x.shape));
}

function unary(f: (x: string, k: KernelWriter) => string): WgslLowering {
  return lazy((n, [x]) => exprValue(n.type.dtype, n.type.shape, (k, at) => f(operand(k, n, x, at), k)));
}

function binary(f: (a: string, b: string) => string): WgslLowering {
  return lazy((n, [a, b]) => exprValue(n.type.dtype, n.type.shape, (k, at) => f(operand(k, n, a, at), operand(k, n, b, at))));
}

const helper = (name: string) => (x: string, k: KernelWriter) => `${k.helper(name)}(${x})`;

export const elementwiseWgsl: { [K in keyof typeof elementwiseOps]: WgslLowering } = {
  neg: unary((x) => `(-${x})`),
  exp: unary((x) => `exp(${x})`),
  log: unary((x) => `log(${x})`),
  sqrt: unary((x) => `sqrt(${x})`),
  tanh: unary(helper('rh_tanh')),
  erf: unary(helper('rh_erf')),
  sin: unary(helper('rh_sin')),
  cos: unary(helper('rh_cos')),
  abs: unary((x) => `abs(${x})`),
  add: binary((a, b) => `(${a} + ${b})`),
  sub: binary((a, b) => `(${a} - ${b})`),
  mul: binary((a, b) => `(${a} * ${b})`),
  div: binary((a, b) => `(${a} / ${b})`),
  pow: lazy((n, [a, b]) => exprValue('f32', n.type.shape, (k, at) => `${k.helper('rh_pow')}(${operand(k, n, a, at)}, ${operand(k, n, b, at)})`)),
  max: binary((a, b) => `max(${a}, ${b})`),
  min: binary((a, b) => `min(${a}, ${b})`),
  compare: lazy((n, [a, b]) => {
    const op = { eq: '==', lt: '<', le: '<=', gt: '>', ge: '>=' }[attrsOf(n, 'compare').cmp];
    const t = n.type.dtype;
    return exprValue(t, n.type.shape, (k, at) => `select(${literal(t, 0)}, ${literal(t, 1)}, ${operand(k, n, a, at)} ${op} ${operand(k, n, b, at)})`);
  }),
  // f32 -> i32 truncates toward zero in WGSL, as the IR's cast does.
  cast: lazy((n, [x]) => exprValue(n.type.dtype, n.type.shape, (k, at) => `${attrsOf(n, 'cast').to}(${operand(k, n, x, at)})`)),
};
