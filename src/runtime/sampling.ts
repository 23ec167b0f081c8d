// Choosing the next token from logits: greedy at temperature 0, otherwise softmax at the
// temperature restricted to the top-k tokens and then to the smallest set whose probability
// reaches top-p (nucleus sampling), drawn with a seeded generator.

import type { Rng } from '../io/rng.ts';

export interface SamplingOptions {
  /** 0 means greedy (argmax; ties go to the lowest id) */
  temperature: number;
  /** keep only the k most likely tokens (undefined or 0: all) */
  topK?: number;
  /** keep the smallest set of most likely tokens whose probability reaches p (undefined or 1: all) */
  topP?: number;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** The candidate tokens and their probabilities after temperature, top-k and top-p; sorted, most likely first. */
export function candidates(logits: Float32Array, opts: SamplingOptions): { ids: number[]; probs: number[] } {
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = opts.topK && opts.topK > 0 ? Math.min(opts.topK, order.length) : order.length;
  const kept = order.slice(0, k);
  const max = logits[kept[0]];
  const weights = kept.map((id) => Math.exp((logits[id] - max) / opts.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let probs = weights.map((w) => w / total);
  let n = probs.length;
  if (opts.topP !== undefined && opts.topP < 1) {
    let acc = 0;
    n = 0;
    while (n < probs.length && acc < opts.topP) acc += probs[n++];
    const kept = probs.slice(0, n).reduce((a, b) => a + b, 0);
    probs = probs.slice(0, n).map((p) => p / kept);
  }
  return { ids: kept.slice(0, n), probs: probs.slice(0, n) };
}

export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: Rng): number {
  if (opts.temperature === 0) return argmax(logits);
  const { ids, probs } = candidates(logits, opts);
  let u = rng.uniform();
  for (let i = 0; i < ids.length; i++) {
    u -= probs[i];
    if (u < 0) return ids[i];
  }
  return ids[ids.length - 1];
}
