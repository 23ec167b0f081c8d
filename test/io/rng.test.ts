import { describe, expect, it } from 'vitest';
import { RhcError } from '../../src/errors.ts';
import { Rng } from '../../src/io/rng.ts';

describe('Rng (xoshiro128**)', () => {
  it('matches the reference C implementation from state {1, 2, 3, 4}', () => {
    // Outputs of Vigna's xoshiro128starstar.c next() with s = {1, 2, 3, 4}.
    const r = Rng.fromState([1, 2, 3, 4]);
    const first = Array.from({ length: 8 }, () => r.uint32());
    expect(first).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
    for (let i = 0; i < 992; i++) r.uint32();
    expect(r.uint32()).toBe(136054147);
  });

  it('same seed gives the same stream; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const sa = Array.from({ length: 100 }, () => a.normal());
    const sb = Array.from({ length: 100 }, () => b.normal());
    expect(sa).toEqual(sb);
    for (const other of [43, 0, -42, 2 ** 32 + 42]) {
      const c = new Rng(other);
      const sc = Array.from({ length: 100 }, () => c.normal());
      expect(sc).not.toEqual(sa);
    }
  });

  it('uniform() lies in [0, 1) with mean 1/2', () => {
    const r = new Rng(1);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01);
  });

  it('normal() has mean 0 and std 1 over 100k draws', () => {
    const r = new Rng(7);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      sum += x;
      sq += x * x;
    }
    expect(Number.isFinite(sq)).toBe(true);
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
  });

  it('fillNormal applies mean and std, reproducibly', () => {
    const a = new Rng(3).fillNormal(new Float32Array(20_000), 2, 0.02);
    const b = new Rng(3).fillNormal(new Float32Array(20_000), 2, 0.02);
    expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer))).toBe(0);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean - 2)).toBeLessThan(0.001);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.001);
  });

  it('rejects a non-integer seed', () => {
    expect(() => new Rng(1.5)).toThrow(RhcError);
    expect(() => new Rng(NaN)).toThrow(/seed must be an integer/);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/all zero/);
  });
});
