// Incremental decoding, whatever runs it: tokens go in (a prompt, then one token at a time),
// the logits of the last position come out, and the backend keeps its KV cache between calls.
// Keys are cached already rotated; new tokens are rotated at their absolute position.

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
