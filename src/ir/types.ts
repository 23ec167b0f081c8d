// Tensor types of the IR: a dtype and a shape of (possibly symbolic) dims.

import { type Dim, shapeToString } from './dims.ts';
import type { DType } from './dtypes.ts';

export type { DType } from './dtypes.ts';

export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export function tensorType(dtype: DType, shape: readonly Dim[]): TensorType {
  return { dtype, shape };
}

export function typeToString(t: TensorType): string {
  return `${t.dtype}${shapeToString(t.shape)}`;
}

/** Raised by an op's type rule; the caller attaches the source location. */
export class OpTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpTypeError';
  }
}
