// Incremental decoding, whatever runs it: tokens go in (a prompt, then one token at a time),
// the logits of the last position come out, and the backend keeps its KV cache between calls.
// Keys are cached already rotated; new tokens are rotated at their absolute position.
// The bookkeeping every decoder shares lives here too. Browser-safe.

import { RhcError } from '../errors.ts';
import type { Dim } from '../ir/dims.ts';

export interface Decoder {
  /** Feeds `ids` after what is cached; returns the logits [vocab] of the last of them. */
  append(ids: readonly number[]): Promise<Float32Array>;
  /** tokens cached so far (the absolute position of the next token) */
  readonly length: number;
  /** the most tokens the model can hold (n_positions) */
  readonly capacity: number;
  /** forget the cache; the next append starts at position 0 */
  reset(): void;
  dispose(): void;
}

/** Rejects an append of no tokens, or of more than fit after the `length` cached of `capacity`. */
export function checkAppend(ids: readonly number[], length: number, capacity: number): void {
  if (ids.length === 0) throw new RhcError('append needs at least one token');
  if (length + ids.length > capacity)
    throw new RhcError(`the model holds ${capacity} positions (n_positions): ${length} cached + ${ids.length} new do not fit`);
}

/** The absolute positions offset .. offset+seq-1 of `seq` tokens after `offset` cached ones. */
export function positions(seq: number, offset = 0): Int32Array {
  return Int32Array.from({ length: seq }, (_, i) => i + offset);
}

/** The shape of an empty past_key_values.* input ([B, H, P, D] -> [1, H, 0, D]): batch 1, nothing cached. */
export function emptyPastShape(shape: readonly Dim[]): number[] {
  return shape.map((d, i) => (i === 0 ? 1 : typeof d === 'number' ? d : 0));
}
