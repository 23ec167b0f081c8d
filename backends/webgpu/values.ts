// How the WGSL backend sees an IR value while it schedules kernels: a lazy expression of the
// element at an index (tinygrad-style), and, when the value lives in GPU memory, a strided view
// of its buffer. Movement ops (reshape, transpose, slice, broadcast) only change views or
// indices; elementwise ops compose expressions; only kernel ops and values that must be
// shared are realised into buffers. So an elementwise chain, the rotation of q, or the head
// split of c_attn's output costs no kernel of its own.

import { type Dim, dimEq, dimMul, dimToString } from '../../src/ir/dims.ts';
import type { KernelWriter } from './kernel-writer.ts';
import type { PlanChunking, BufferRole } from './plan.ts';
import type { Scalar } from './wgsl.ts';

/** A buffer as the scheduler knows it, before memory planning maps it onto a physical buffer. */
export interface LogicalBuffer {
  readonly id: number;
  readonly dtype: Scalar;
  readonly role: BufferRole;
  /** logical shape of the value it was made for */
  readonly shape: readonly Dim[];
  /** elements at the symbols' maxima */
  readonly elements: number;
  readonly chunking?: PlanChunking;
  readonly label: string;
  readonly checkpoint?: string;
  readonly constant?: { readonly dtype: Scalar; readonly data: ArrayLike<number> };
}

/** Element (i0, i1, ...) of `buffer` is at offset + i0*strides[0] + i1*strides[1] + ... */
export interface View {
  readonly buffer: LogicalBuffer;
  readonly offset: Dim;
  readonly strides: readonly Dim[];
}

/** An element's position: one u32 expression per axis, and the row-major flat index when known cheaply. */
export interface Index {
  readonly axes: readonly string[];
  readonly flat?: string;
}

export interface Value {
  readonly dtype: Scalar;
  readonly shape: readonly Dim[];
  /** present when the value is (a view of) a realised buffer */
  readonly view?: View;
  /** present for compile-time scalars */
  readonly literal?: number;
  /** WGSL expression of the element at `at` (may add `let`s to the current function) */
  emit(k: KernelWriter, at: Index): string;
}

export function rowMajorStrides(shape: readonly Dim[]): Dim[] {
  const strides: Dim[] = new Array(shape.length);
  let acc: Dim = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc = dimMul(acc, shape[i]);
  }
  return strides;
}

export function contiguousView(buffer: LogicalBuffer, shape: readonly Dim[], offset: Dim = 0): View {
  return { buffer, offset, strides: rowMajorStrides(shape) };
}

/** Row-major and starting at element 0 (size-1 axes may have any stride). */
export function isContiguous(view: View, shape: readonly Dim[]): boolean {
  const want = rowMajorStrides(shape);
  return dimEq(view.offset, 0) && shape.every((d, i) => d === 1 || dimEq(view.strides[i], want[i]));
}

/** The element address of `at` in a view, as a u32 expression. */
export function address(k: KernelWriter, view: View, shape: readonly Dim[], at: Index): string {
  if (at.flat !== undefined && isContiguous(view, shape)) return at.flat;
  const parts: string[] = [];
  if (!dimEq(view.offset, 0)) parts.push(k.dim(view.offset));
  shape.forEach((d, i) => {
    const s = view.strides[i];
    if (d === 1 || dimEq(s, 0)) return;
    parts.push(dimEq(s, 1) ? at.axes[i] : `${at.axes[i]} * ${k.dim(s)}`);
  });
  return parts.length === 0 ? '0u' : parts.join(' + ');
}

export function viewValue(dtype: Scalar, shape: readonly Dim[], view: View): Value {
  return {
    dtype,
    shape,
    view,
    emit: (k, at) => k.memo(`load ${view.buffer.id} ${address(k, view, shape, at)}`, () => k.load(view.buffer, address(k, view, shape, at)), 'x'),
  };
}

export function exprValue(dtype: Scalar, shape: readonly Dim[], emit: Value['emit']): Value {
  return { dtype, shape, emit };
}

/** Per-axis indices of a row-major flat index (memoised lets, innermost axis first). */
export function decompose(k: KernelWriter, flat: string, shape: readonly Dim[]): string[] {
  const key = `decompose ${flat} [${shape.map(dimToString).join(',')}]`;
  const axes: string[] = new Array(shape.length);
  let rest = flat;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i];
    if (i === 0) axes[i] = rest;
    else if (d === 1) axes[i] = '0u';
    else {
      const r = rest;
      axes[i] = k.memo(`${key} ${i}`, () => `${r} % ${k.dim(d)}`, 'i');
      rest = k.memo(`${key} rest ${i}`, () => `${r} / ${k.dim(d)}`, 'i');
    }
  }
  return axes;
}

/** Row-major flat index of per-axis indices. */
export function linearize(k: KernelWriter, axes: readonly string[], shape: readonly Dim[]): string {
  let flat = '';
  shape.forEach((d, i) => {
    if (flat === '') flat = axes[i];
    else flat = d === 1 ? flat : `(${flat}) * ${k.dim(d)} + ${axes[i]}`;
  });
  return flat === '' ? '0u' : k.memo(`linearize ${axes.join(',')} [${shape.map(dimToString).join(',')}]`, () => flat, 'i');
}

/** The index of an operand of shape `from` broadcast (NumPy rules) to an index of shape `to`. */
export function broadcastIndex(at: Index, to: readonly Dim[], from: readonly Dim[]): Index {
  const off = to.length - from.length;
  const same = off === 0 && from.every((d, i) => dimEq(d, to[i]));
  if (same) return at;
  return { axes: from.map((d, i) => (d === 1 ? '0u' : at.axes[i + off])) };
}
