// The op registry: every IR op is defined once, in src/ir/ops/<family>.ts, with its type rule
// and its reference semantics (the oracle for every backend); the gradient rule (autodiff)
// goes beside it, in the same family file. Each backend's lowering lives with the backend
// (backends/webgpu/ops/<family>.ts, backends/onnx/ops/<family>.ts), so the IR imports no
// backend; backends look lowerings up by op name in tables typed Record<OpName, ...>, so a
// new op that lacks one does not compile.

import type { TensorType } from './types.ts';
import type { Attrs } from './graph.ts';
import type { EvalEnv, RefTensor } from './reference.ts';
import type { Vjp } from './vjp.ts';
import { sourceOps } from './ops/sources.ts';
import { elementwiseOps } from './ops/elementwise.ts';
import { reduceOps } from './ops/reduce.ts';
import { shapeOps } from './ops/shape.ts';
import { matmulOps } from './ops/matmul.ts';
import { normOps } from './ops/norm.ts';
import { attentionOps } from './ops/attention.ts';
import { ropeOps } from './ops/rope.ts';
import { fusedOps } from './ops/fused.ts';
import { cacheOps } from './ops/cache.ts';
import { lossOps } from './ops/loss.ts';

/**
 * What kind of op it is, for passes and backends that treat a whole kind alike (epilogue fusion
 * takes any elementwise op, tabulation any op that keeps positions apart). Primitives are
 * sources, elementwise (scalar function per element, NumPy broadcasting), movement (moves or
 * selects elements), reduction (along an axis) and matmul; composites (softmax, layer_norm,
 * attention, rope) are kept whole so backends can fuse them.
 */
export type OpCategory = 'source' | 'elementwise' | 'movement' | 'reduction' | 'matmul' | 'composite';

export interface OpDef<A = any> {
  readonly name: string;
  /** one line for docs and `rhc ops` */
  readonly summary: string;
  readonly category: OpCategory;
  /** [min, max] number of inputs; max is Infinity for variadic ops */
  readonly arity: readonly [number, number];
  /** The type rule: result type from input types; throws OpTypeError with a message for the user. */
  inferType(inputs: readonly TensorType[], attrs: A): TensorType;
  /** Reference semantics on host tensors (f32 or f64 storage as env.precision says). */
  evaluate(inputs: readonly RefTensor[], attrs: A, env: EvalEnv): RefTensor;
  /** Ops with no effect beyond their result may be deduplicated and folded; sources may not. */
  readonly pure: boolean;
  /** The gradient rule (src/ir/vjp.ts); absent for ops autodiff does not go through yet. */
  readonly vjp?: Vjp<A>;
}

export const OPS = {
  ...sourceOps,
  ...elementwiseOps,
  ...reduceOps,
  ...shapeOps,
  ...matmulOps,
  ...normOps,
  ...attentionOps,
  ...ropeOps,
  ...cacheOps,
  ...lossOps,
  ...fusedOps,
} as const;

export type OpName = keyof typeof OPS;

export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, name);
}

/** The attributes of op K, as its type rule takes them. */
export type AttrsOf<K extends OpName> = Parameters<(typeof OPS)[K]['inferType']>[1];

/**
 * `n`'s attributes, typed as op `op` declares them (the one cast from the graph's untyped
 * attribute record, checked against the node's op).
 */
export function attrsOf<K extends OpName>(n: { readonly id: number; readonly op: OpName; readonly attrs: Attrs }, op: K): AttrsOf<K> {
  if (n.op !== op) throw new Error(`internal: %${n.id} is ${n.op}, not ${op}`);
  return n.attrs as AttrsOf<K>;
}

export function getOp(name: OpName): OpDef {
  const def = OPS[name] as OpDef | undefined;
  if (!def) throw new Error(`internal: unknown op '${name}'`);
  return def;
}

/** Helper so each family file gets checked against OpDef while keeping its literal keys. */
export function defineOps<T extends Record<string, OpDef>>(ops: T): T {
  for (const [k, v] of Object.entries(ops)) if (v.name !== k) throw new Error(`internal: op ${k} named ${v.name}`);
  return ops;
}
