// Dense host tensors for the reference semantics of each op (the oracle every backend is
// tested against). Float tensors are stored in Float32Array (default: every op result is
// rounded to f32, as a GPU would) or Float64Array (`precision: 'f64'`, for tight checks).

import type { DType } from './types.ts';

export type Precision = 'f32' | 'f64';

export type RefData = Float32Array | Float64Array | Int32Array;

export interface RefTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: RefData;
}

export interface EvalEnv {
  readonly precision: Precision;
  /** run-time sizes of the symbolic dims (B, S, ...) */
  readonly dims: ReadonlyMap<string, number>;
  /** the values of `input` and `param` nodes, by name */
  readonly value?: (name: string) => RefTensor | undefined;
}

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function alloc(dtype: DType, shape: readonly number[], env: EvalEnv): RefTensor {
  const n = size(shape);
  const data = dtype === 'i32' ? new Int32Array(n) : env.precision === 'f64' ? new Float64Array(n) : new Float32Array(n);
  return { dtype, shape, data };
}

export function fromArray(dtype: DType, shape: readonly number[], values: ArrayLike<number>, env: EvalEnv): RefTensor {
  const t = alloc(dtype, shape, env);
  if (values.length !== t.data.length) throw new Error(`internal: ${values.length} values for shape [${shape}]`);
  t.data.set(values);
  return t;
}

/** NumPy broadcasting of two shapes; undefined when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * For each flat index of `outShape` (C order), the flat source index `sum(index[ax] * strides[ax])`.
 * Broadcasting (stride 0) and transposition (permuted strides) are both this walk.
 */
export function stridedIndex(outShape: readonly number[], strides: readonly number[]): Int32Array {
  const n = size(outShape);
  const idx = new Int32Array(n);
  const rank = outShape.length;
  const counter = new Array<number>(rank).fill(0);
  let pos = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = pos;
    for (let ax = rank - 1; ax >= 0; ax--) {
      counter[ax]++;
      pos += strides[ax];
      if (counter[ax] < outShape[ax]) break;
      pos -= strides[ax] * counter[ax];
      counter[ax] = 0;
    }
  }
  return idx;
}

/**
 * For each flat index of `outShape`, the flat index into a tensor of `inShape` broadcast to it.
 * Precomputed once per op so the inner loops stay simple.
 */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const inStrides = stridesOf(inShape);
  const offset = outShape.length - inShape.length;
  const strides = outShape.map((_, i) => {
    const j = i - offset;
    return j < 0 || inShape[j] === 1 ? 0 : inStrides[j];
  });
  return stridedIndex(outShape, strides);
}

export function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
