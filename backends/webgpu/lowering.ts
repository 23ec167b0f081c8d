// What an op's WGSL lowering is (backends/webgpu/ops/<family>.ts). Three kinds:
//   lazy   -- the op becomes an expression of its inputs at an index (elementwise, movement,
//             sources); no kernel, it fuses into whatever reads it;
//   kernel -- the op needs a kernel of its own (matmul, attention, normalisations,
//             reductions, the cache append); it reads its inputs through their expressions or
//             views and writes its result through the view the scheduler gives it, optionally
//             through an elementwise epilogue (matmul: bias, residual, GELU) or a store of
//             the region it computes (regions.ts);
//   region -- a `fused` node: the scheduler renders it by its rule (regions.ts).

import type { Node } from '../../src/ir/graph.ts';
import { type Dim, numElements } from '../../src/ir/dims.ts';
import { type DispatchDraft, KernelWriter } from './kernel-writer.ts';
import { address, decompose, type Index, type LogicalBuffer, type Value, type View } from './values.ts';
import { literal, type Scalar } from './wgsl.ts';

export interface LowerCtx {
  /** IR symbols in uniform order */
  readonly symbols: readonly string[];
  writer(op: string): KernelWriter;
  /** the buffers of source nodes */
  param(n: Node): LogicalBuffer;
  constant(n: Node): LogicalBuffer;
  input(n: Node): LogicalBuffer;
  readonly choices: KernelChoices;
}

/** Choices between correct kernels of one op, for measuring them against each other. */
export interface KernelChoices {
  /**
   * attention over more than a few queries: 'rows' (one thread per query streaming keys from
   * global memory; the default, faster on SwiftShader) or 'tiled' (key/value tiles in workgroup memory)
   */
  attentionPrefill?: 'rows' | 'tiled';
}

/** Computes the final value from the kernel's raw result `acc` at an index of the output. */
export type Epilogue = (k: KernelWriter, acc: string, at: Index) => string;

/**
 * A statement storing the result at `at` of the kernel's own shape, given the raw result and
 * the raw result of its pair partner (the index whose last axis is `at`'s ^ 1): a region's
 * store, which may rotate pairs and scatter parts into several buffers.
 */
export type PairStore = (k: KernelWriter, at: Index, acc: string, partner: string) => string;

export interface KernelOutput {
  /** where results go: a contiguous buffer, or a permuted layout for kernels that allow it */
  view: View;
  epilogue?: Epilogue;
  /** replaces the store through `view` and `epilogue` (kernels with `pairStore` only) */
  store?: PairStore;
  /**
   * matmul: LayerNorm each row of A (over K) as it is read, with this weight and bias [K]: a
   * norm-matmul region's prologue. The kernel computes each row's mean and variance first.
   */
  normaliseA?: { weight: Value; bias: Value; eps: number };
}

export interface LazyLowering {
  kind: 'lazy';
  value(n: Node, inputs: readonly Value[], ctx: LowerCtx): Value;
  /**
   * whether the value, on these inputs, costs no more than a load wherever it is read (a gather
   * of a table row by an id in memory): read by several, it is recomputed, never realised
   */
  asCheapAsALoad?(inputs: readonly Value[]): boolean;
}

export interface KernelLowering {
  kind: 'kernel';
  /** operands the kernel reads as buffers (realised first when they are expressions) */
  needsViews?: readonly number[];
  /**
   * operands it reads fast only with a unit stride along their last axis, given all of them: a
   * strided view of those (a transpose, as gradients take) is copied to a contiguous buffer first
   */
  needsUnitLastStride?(inputs: readonly Value[]): readonly number[];
  /** writes through any strided output view, so the scheduler may choose the layout */
  anyOutputLayout?: boolean;
  /** accepts an elementwise epilogue */
  epilogue?: boolean;
  /** accepts a PairStore (the last axis of its output is even) */
  pairStore?: boolean;
  kernel(n: Node, inputs: readonly Value[], out: KernelOutput, ctx: LowerCtx): DispatchDraft[];
}

/** `fused`: rendered by the scheduler from its rule (regions.ts) */
export interface RegionLowering {
  kind: 'region';
}

export type WgslLowering = LazyLowering | KernelLowering | RegionLowering;

export function lazy(value: LazyLowering['value'], extra: Pick<LazyLowering, 'asCheapAsALoad'> = {}): LazyLowering {
  return { kind: 'lazy', value, ...extra };
}

export function literalValue(dtype: Scalar, v: number): Value {
  return {
    dtype,
    shape: [],
    literal: v,
    emit: (k) => {
      const text = literal(dtype, v);
      if (text.includes('rh_bits')) k.helper('rh_bits');
      return text;
    },
  };
}

/** `fn name(i0: u32, ..., i{r-1}: u32) -> T` returning the value at that index: reads in loops. */
export function accessor(k: KernelWriter, name: string, v: Value): string {
  const params = v.shape.map((_, i) => `i${i}: u32`).join(', ');
  return k.func(name, params, v.dtype, () => v.emit(k, { axes: v.shape.map((_, i) => `i${i}`) }));
}

/**
 * The statement writing `value` at index `at` of an output view (with the epilogue applied),
 * or the output's own store, which needs the pair partner's value.
 */
export function storeOutput(k: KernelWriter, out: KernelOutput, shape: readonly Dim[], at: Index, value: string, partner?: string): string {
  if (out.store) {
    if (partner === undefined) throw new Error('internal: a pair store needs the partner value');
    return out.store(k, at, value, partner);
  }
  const v = out.epilogue ? out.epilogue(k, value, at) : value;
  return k.store(out.view.buffer, address(k, out.view, shape, at), v);
}

export const WORKGROUP = 64;

/** Kernel prologue for one thread per element of `shape`: `flat` and its per-axis indices. */
export function linearThread(k: KernelWriter, shape: readonly Dim[]): Index {
  const total = numElements(shape);
  k.line(`let flat = (wid.y * nwg.x + wid.x) * ${WORKGROUP}u + lix;`);
  k.line(`if (flat >= ${k.dim(total)}) { return; }`);
  return { axes: decompose(k, 'flat', shape), flat: 'flat' };
}

/** A kernel computing `v` at every index of its shape and storing it through `out` (a realisation). */
export function elementwiseKernel(ctx: LowerCtx, v: Value, out: KernelOutput, summary: (k: KernelWriter) => string): DispatchDraft {
  const k = ctx.writer('elementwise');
  return k.finish({
    summary: summary(k),
    workgroupSize: [WORKGROUP, 1, 1],
    grid: { linear: { count: numElements(v.shape), per: WORKGROUP } },
    main: () => {
      const at = linearThread(k, v.shape);
      k.line(storeOutput(k, out, v.shape, at, v.emit(k, at)));
    },
  });
}
