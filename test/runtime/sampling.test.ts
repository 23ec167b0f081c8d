import { describe, expect, it } from 'vitest';
import { argmax, candidates, sampleToken } from '../../src/runtime/sampling.ts';
import { Rng } from '../../src/io/rng.ts';

const logits = Float32Array.from([Math.log(1), Math.log(4), Math.log(2), Math.log(3)]); // probs 0.1, 0.4, 0.2, 0.3

describe('sampling', () => {
  it('is greedy at temperature 0, ties to the lowest id', () => {
    expect(argmax(Float32Array.from([1, 3, 3, 0]))).toBe(1);
    expect(sampleToken(logits, { temperature: 0 }, new Rng(1))).toBe(1);
  });
  it('keeps the top-k and then the top-p nucleus, renormalised', () => {
    const all = candidates(logits, { temperature: 1 });
    expect(all.ids).toEqual([1, 3, 2, 0]);
    all.probs.forEach((p, i) => expect(p).toBeCloseTo([0.4, 0.3, 0.2, 0.1][i], 6));
    const k2 = candidates(logits, { temperature: 1, topK: 2 });
    expect(k2.ids).toEqual([1, 3]);
    expect(k2.probs[0]).toBeCloseTo(4 / 7, 6);
    // 0.4 + 0.3 = 0.7 reaches 0.65: two tokens
    const p = candidates(logits, { temperature: 1, topP: 0.65 });
    expect(p.ids).toEqual([1, 3]);
    // temperature 0.5 squares the odds: 16 : 9 : 4 : 1
    const t = candidates(logits, { temperature: 0.5 });
    expect(t.probs[0]).toBeCloseTo(16 / 30, 6);
  });
  it('draws with the given distribution, reproducibly per seed', () => {
    const rng = new Rng(42);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleToken(logits, { temperature: 1 }, rng)]++;
    [0.1, 0.4, 0.2, 0.3].forEach((p, i) => expect(Math.abs(counts[i] / 20000 - p)).toBeLessThan(0.015));
    const draws = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 20 }, () => sampleToken(logits, { temperature: 1 }, r));
    };
    expect(draws(7)).toEqual(draws(7));
    expect(draws(7)).not.toEqual(draws(8));
  });
});
