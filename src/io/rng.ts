// Seeded PRNG for reproducible weight initialisation (`--seed N`). xoshiro128** (Blackman &
// Vigna, 2018): 128-bit state, period 2^128 - 1, passes BigCrush; the state is filled from the
// seed with splitmix32 so that nearby seeds give unrelated streams. Math.random cannot be seeded.

import { RhcError } from '../errors.ts';

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Rng {
  private s = new Uint32Array(4);
  /** Box–Muller makes normals in pairs; the second is kept for the next call. */
  private spare: number | undefined;

  /** `seed`: any safe integer (negative values and values >= 2^32 are distinct seeds too). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RhcError(`seed must be an integer, got ${seed}`);
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = z ^ (z >>> 16);
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1; // the all-zero state is a fixed point
  }

  /** A generator with an explicit xoshiro128** state (to check against the reference C code). */
  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0);
    r.s.set(state.map((v) => v >>> 0));
    if (r.s.every((v) => v === 0)) throw new RhcError('xoshiro128** state must not be all zero');
    return r;
  }

  /** Next raw 32-bit output, as an unsigned integer. */
  uint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  uniform(): number {
    return this.uint32() / 2 ** 32;
  }

  /** Standard normal via Box–Muller. */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log(0) would be -Infinity
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  fillNormal<T extends Float32Array | Float64Array>(arr: T, mean = 0, std = 1): T {
    for (let i = 0; i < arr.length; i++) arr[i] = mean + std * this.normal();
    return arr;
  }

  fillUniform<T extends Float32Array | Float64Array>(arr: T, low = 0, high = 1): T {
    for (let i = 0; i < arr.length; i++) arr[i] = low + (high - low) * this.uniform();
    return arr;
  }
}
