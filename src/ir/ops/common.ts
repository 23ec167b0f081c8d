// Type-rule helpers shared by the op families.

import { DTYPES } from '../dtypes.ts';
import { type Dim, dimEq, shapeToString } from '../dims.ts';
import { OpTypeError, type TensorType, typeToString } from '../types.ts';
import { normaliseAxis } from '../reference.ts';

/** NumPy broadcasting on symbolic shapes: dims must be equal or one of them the constant 1. */
export function broadcastTypes(op: string, a: TensorType, b: TensorType): Dim[] {
  const rank = Math.max(a.shape.length, b.shape.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[a.shape.length - rank + i] ?? 1;
    const db = b.shape[b.shape.length - rank + i] ?? 1;
    if (dimEq(da, db) || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else
      throw new OpTypeError(
        `${op}: shapes ${shapeToString(a.shape)} and ${shapeToString(b.shape)} do not broadcast (axis ${i - rank}: ${fmt(da)} vs ${fmt(db)})`,
      );
  }
  return out;
}

function fmt(d: Dim): string {
  return shapeToString([d]).slice(1, -1);
}

export function sameDtype(op: string, ...types: TensorType[]): void {
  for (const t of types.slice(1))
    if (t.dtype !== types[0].dtype)
      throw new OpTypeError(`${op}: dtypes differ (${typeToString(types[0])} vs ${typeToString(t)})`);
}

export function requireFloat(op: string, t: TensorType): void {
  if (!DTYPES[t.dtype].float) throw new OpTypeError(`${op}: expected a float tensor, got ${typeToString(t)}`);
}

export function checkAxis(op: string, axis: number, rank: number): number {
  const a = normaliseAxis(axis, rank);
  if (!Number.isInteger(axis) || a < 0 || a >= rank)
    throw new OpTypeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

export function requireRankAtLeast(op: string, t: TensorType, rank: number, what: string): void {
  if (t.shape.length < rank) throw new OpTypeError(`${op}: ${what} must have rank >= ${rank}, got ${typeToString(t)}`);
}
