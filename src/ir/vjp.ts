// What an op's gradient rule (the `vjp` field of its definition in src/ir/ops/<family>.ts) is
// given and may build: the reverse-mode pass (src/passes/autodiff.ts) calls it with the node's
// inputs, its output and the gradient dy of the loss with respect to that output; the rule
// adds ops that compute the gradient with respect to each input it is asked for. Rules build
// with IR ops only, so the backward graph goes through the same passes and backends as the
// forward one.

import type { Attrs } from './graph.ts';
import { type Dim, dimEq } from './dims.ts';
import type { TensorType } from './types.ts';

export interface GradGraph {
  /** adds op `op` (an op name: a string here, as the registry's types are built from the rules) */
  add(op: string, inputs: readonly number[], attrs?: Attrs): number;
  type(id: number): TensorType;
}

export interface VjpNode<A> {
  readonly inputs: readonly number[];
  readonly output: number;
  readonly attrs: A;
  /** whether the gradient of input i is needed (a rule may skip the others) */
  wants(i: number): boolean;
}

/** The gradients of the loss with respect to the node's inputs (undefined: not needed, or none). */
export type Vjp<A = any> = (g: GradGraph, node: VjpNode<A>, dy: number) => readonly (number | undefined)[];

/** An f32 scalar constant. */
export function scalar(g: GradGraph, value: number): number {
  return g.add('const', [], { dtype: 'f32', value });
}

/** Zeros of a type (a scalar broadcast, so symbolic shapes are fine). */
export function zeros(g: GradGraph, t: TensorType): number {
  const z = scalar(g, 0);
  return t.shape.length === 0 ? z : g.add('broadcast', [z], { shape: t.shape });
}

/**
 * The gradient `dy` of a value broadcast (NumPy rules) from `shape`, summed back to `shape`:
 * over the leading axes broadcasting added and the axes it stretched from 1.
 */
export function sumTo(g: GradGraph, dy: number, shape: readonly Dim[]): number {
  let v = dy;
  while (g.type(v).shape.length > shape.length) v = g.add('sum', [v], { axis: 0, keepdims: false });
  const from = g.type(v).shape;
  from.forEach((d, i) => {
    if (dimEq(shape[i], 1) && !dimEq(d, 1)) v = g.add('sum', [v], { axis: i, keepdims: true });
  });
  return v;
}

export const mul = (g: GradGraph, a: number, b: number) => g.add('mul', [a, b]);
export const sub = (g: GradGraph, a: number, b: number) => g.add('sub', [a, b]);
export const neg = (g: GradGraph, a: number) => g.add('neg', [a]);

/** Swaps the last two axes. */
export function transposeLast(g: GradGraph, x: number): number {
  const r = g.type(x).shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return g.add('transpose', [x], { perm });
}
