// Token ids for the bench: deterministic, spread over the whole vocabulary (so gathers touch
// rows all over wte), the same in Node and in the page. Pure, browser-safe.

/** `n` ids in [0, vocab) from a 32-bit LCG seeded by `seed`. */
export function benchIds(n: number, vocab: number, seed = 1): Int32Array {
  const out = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.floor((s / 2 ** 32) * vocab);
  }
  return out;
}
