// The rotary parts of the seed variants, through rhc's own compiler and interpreter at f64:
// the bundled specs' rope modules are lowered as models on their own (a tiny .rh file in a
// temporary directory imports them), and their numbers are checked against values worked
// out here by hand from shared/SEMANTICS.md.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigOverride } from '../../src/dsl/config.ts';
import type { Graph } from '../../src/ir/graph.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { initModel, lowerSpec } from '../../src/model/model.ts';
import { cpuBackend } from '../../src/runtime/backends.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { gpFrequenciesF64, ropeFrequenciesF64, rotatePairsF64, type VariantF64 } from '../helpers/gpt2-f64.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const set = (name: string, value: number): ConfigOverride => ({ name, value: String(value), origin: '--set', strict: true });

let fileCounter = 0;
/** Writes a .rh file in the temp dir (imports resolve to rhc's bundled spec library) and lowers it. */
function lower(source: string, overrides: ConfigOverride[]): Graph {
  const file = path.join(tmp, `probe${fileCounter++}.rh`);
  fs.writeFileSync(file, source);
  return lowerSpec(file, overrides);
}

function f64(shape: number[], data: ArrayLike<number>): RefTensor {
  return { dtype: 'f32', shape, data: Float64Array.from(data) };
}

function run(g: Graph, inputs: Record<string, RefTensor>, params: Record<string, RefTensor> = {}): RefTensor {
  return interpret(g, { precision: 'f64', inputs: new Map(Object.entries(inputs)), params: new Map(Object.entries(params)) }).get('logits')!;
}

function close(a: number, b: number, tol: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol);
}

function meanStd(row: ArrayLike<number>): { mean: number; std: number; variance: number } {
  const n = row.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += row[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (row[i] - mean) ** 2;
  variance /= n;
  return { mean, std: Math.sqrt(variance), variance };
}

const H = 4;
const D = 8;
const HALF = D / 2;
const DIMS48 = [set('n_embd', H * D), set('n_head', H)];

/**
 * The frequencies a rope module really uses, read back from its output: every pair of every
 * head is the unit vector (1, 0), so at position 1 it comes out as (cos f, sin f).
 * Valid while |f| < pi. Returns f[h, i] row-major and the raw output.
 */
function probeFrequencies(g: Graph, params: Record<string, RefTensor> = {}, positions = [0, 1, 2, 3]): { f: Float64Array; out: RefTensor } {
  const S = positions.length;
  const x = new Float64Array(S * H * D);
  for (let p = 0; p < x.length; p += 2) x[p] = 1;
  const out = run(g, { x: f64([1, S, H, D], x), pos: { dtype: 'i32', shape: [S], data: Int32Array.from(positions) } }, params);
  expect(out.shape).toEqual([1, S, H, D]);
  const s1 = positions.indexOf(1);
  const f = new Float64Array(H * HALF);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < HALF; i++) {
      const o = ((s1 * H + h) * D) + 2 * i;
      f[h * HALF + i] = Math.atan2(out.data[o + 1], out.data[o]);
    }
  }
  return { f, out };
}

/** The `let freq = ...` expression of a bundled spec, so a table can be lowered on its own. */
function freqExpression(spec: string): string {
  const text = fs.readFileSync(path.join(ROOT, 'spec', spec), 'utf8');
  const m = /let freq = (.+)$/m.exec(text);
  if (!m) throw new Error(`spec/${spec} has no 'let freq = ...' line; update this test to the spec's new shape`);
  return m[1].trim();
}

describe('GP frequencies (a)', () => {
  // Worked by hand for H=4, D=8, base 10000: scale[h] = exp(h/3), inv[i] = 10000^(-i/4) = 10^-i.
  const HAND: [number, number, number][] = [
    [0, 0, 1],
    [0, 1, 0.1],
    [0, 3, 0.001],
    [3, 0, Math.E],
    [1, 1, Math.exp(1 / 3) * 0.1],
    [2, 2, Math.exp(2 / 3) * 0.01],
    [3, 3, Math.E * 0.001],
  ];

  it('hand-worked values agree with the oracle helper', () => {
    const f = gpFrequenciesF64(H, D, 10000);
    for (const [h, i, want] of HAND) close(f[h * HALF + i], want, 1e-15);
  });

  for (const spec of ['gp.rh', 'gp-norm.rh']) {
    it(`spec/${spec}'s frequency expression lowers to the hand-worked table`, () => {
      const g = lower(
        `import "${spec}"\nmodule Table {\n  fn forward() -> f32[n_head, D / 2] {\n    return ${freqExpression(spec)}\n  }\n}\nmodel table = Table()\n`,
        DIMS48,
      );
      const t = run(g, {});
      expect(t.shape).toEqual([H, HALF]);
      for (const [h, i, want] of HAND) close(t.data[h * HALF + i], want, 1e-14);
      const all = gpFrequenciesF64(H, D, 10000);
      for (let j = 0; j < all.length; j++) close(t.data[j], all[j], 1e-14);
    });
  }

  it('GPRope (spec/gp.rh) rotates pair i of head h at position s by s * f[h, i]', () => {
    const g = lower('import "gp.rh"\nmodel probe = GPRope()\n', DIMS48);
    const positions = [0, 1, 2, 3, 7];
    const { f, out } = probeFrequencies(g, {}, positions);
    for (const [h, i, want] of HAND) close(f[h * HALF + i], want, 1e-13);
    const ref = gpFrequenciesF64(H, D, 10000);
    positions.forEach((s, si) => {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < HALF; i++) {
          const o = (si * H + h) * D + 2 * i;
          close(out.data[o], Math.cos(s * ref[h * HALF + i]), 1e-13);
          close(out.data[o + 1], Math.sin(s * ref[h * HALF + i]), 1e-13);
        }
      }
    });
  });

  it('base_frequency is honoured: --set base_frequency=500 gives f[h, i] = exp(h/3) * 500^(-i/4)', () => {
    const g = lower('import "gp.rh"\nmodel probe = GPRope()\n', [...DIMS48, set('base_frequency', 500)]);
    const { f } = probeFrequencies(g);
    close(f[0 * HALF + 1], 500 ** -0.25, 1e-13);
    close(f[3 * HALF + 2], Math.E * 500 ** -0.5, 1e-13);
    const ref = gpFrequenciesF64(H, D, 500);
    for (let j = 0; j < ref.length; j++) close(f[j], ref[j], 1e-13);
  });

  it('standard RoPE (spec/rope.rh) uses base^(-2i/D) for every head', () => {
    const g = lower('import "rope.rh"\nmodel probe = StandardRope()\n', DIMS48);
    const { f } = probeFrequencies(g);
    for (let h = 0; h < H; h++) {
      close(f[h * HALF + 0], 1, 1e-13);
      close(f[h * HALF + 1], 0.1, 1e-13);
      close(f[h * HALF + 3], 0.001, 1e-13);
    }
    const ref = ropeFrequenciesF64(H, D, 10000);
    for (let j = 0; j < ref.length; j++) close(f[j], ref[j], 1e-13);
  });
});

describe('LayerNorm over the frequencies (b)', () => {
  const probe = 'import "gp-norm.rh"\nmodel probe = GPNormRope()\n';
  const lnParams = (w: number[], b: number[]) => ({ 'layer_norm.weight': f64([HALF], w), 'layer_norm.bias': f64([HALF], b) });

  it('the probe model has exactly the norm parameters, width D/2, initialised 1 and 0', () => {
    const g = lower(probe, DIMS48);
    const params = g.nodes.filter((n) => n.op === 'param').map((n) => [n.attrs.name, n.type.shape, (n.attrs.init as { kind: string }).kind]);
    expect(params).toEqual([
      ['layer_norm.weight', [HALF], 'ones'],
      ['layer_norm.bias', [HALF], 'zeros'],
    ]);
  });

  it('uniform weight w and bias b: each normalised row has mean b and std w*sqrt(var/(var+1e-5))', () => {
    const [w, b] = [1.5, 0.2];
    const gp = gpFrequenciesF64(H, D, 10000);
    // The config's layer_norm_epsilon must not leak into the frequency norm (fixed at 1e-5).
    for (const overrides of [DIMS48, [...DIMS48, set('layer_norm_epsilon', 0.01)]]) {
      const { f } = probeFrequencies(lower(probe, overrides), lnParams([w, w, w, w], [b, b, b, b]));
      for (let h = 0; h < H; h++) {
        const row = f.subarray(h * HALF, (h + 1) * HALF);
        const raw = meanStd(gp.subarray(h * HALF, (h + 1) * HALF));
        const got = meanStd(row);
        close(got.mean, b, 1e-12);
        const want = w * Math.sqrt(raw.variance / (raw.variance + 1e-5));
        close(got.std, want, 1e-12);
        // the eps is visible at this precision (row 0: var = 0.1754, 1 - factor = 2.9e-5)
        expect(Math.abs(got.std - w)).toBeGreaterThan(1e-6);
      }
    }
    // Row 0 by hand: [1, .1, .01, .001], mean .27775, var = 0.17538...
    const row0 = [1, 0.1, 0.01, 0.001];
    const mean0 = 0.27775;
    const var0 = row0.reduce((s, x) => s + (x - mean0) ** 2, 0) / 4;
    close(var0, 0.1753801875, 1e-12);
  });

  it('per-lane weight and bias: y[i] = (f[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i]', () => {
    const w = [0.5, 1, 1.25, 0.75];
    const b = [0.1, -0.2, 0.3, 0];
    const { f } = probeFrequencies(lower(probe, DIMS48), lnParams(w, b));
    const gp = gpFrequenciesF64(H, D, 10000);
    for (let h = 0; h < H; h++) {
      const row = gp.subarray(h * HALF, (h + 1) * HALF);
      const { mean, variance } = meanStd(row);
      for (let i = 0; i < HALF; i++) close(f[h * HALF + i], ((row[i] - mean) / Math.sqrt(variance + 1e-5)) * w[i] + b[i], 1e-12);
    }
    // Head 3's first lane by hand: row = e * [1, .1, .01, .001]
    const e = Math.E;
    const m3 = e * 0.27775;
    const v3 = e * e * 0.1753801875;
    close(f[3 * HALF], ((e - m3) / Math.sqrt(v3 + 1e-5)) * 0.5 + 0.1, 1e-10);
  });

  it('near-constant rows (base 1.0001): eps dominates and shrinks the output', () => {
    const { f } = probeFrequencies(lower(probe, [...DIMS48, set('base_frequency', 1.0001)]), lnParams([1, 1, 1, 1], [0, 0, 0, 0]));
    const gp = gpFrequenciesF64(H, D, 1.0001);
    for (let h = 0; h < H; h++) {
      const raw = meanStd(gp.subarray(h * HALF, (h + 1) * HALF));
      expect(raw.variance).toBeLessThan(1e-8);
      const got = meanStd(f.subarray(h * HALF, (h + 1) * HALF));
      const want = Math.sqrt(raw.variance / (raw.variance + 1e-5));
      expect(want).toBeLessThan(0.03);
      expect(Math.abs(got.std - want) / want).toBeLessThan(1e-8);
      close(got.mean, 0, 1e-12);
    }
  });

  it('LRNormRope (spec/lr-norm.rh) normalises its learned frequencies the same way', () => {
    const g = lower('import "lr-norm.rh"\nmodel probe = LRNormRope()\n', [...DIMS48, set('layer_norm_epsilon', 0.01)]);
    const freqs = [0.3, -1.2, 2.0, 0.05, 1, 1, 1, 1.001, -0.5, 0.5, -0.25, 0.25, 3, -3, 0, 0.1];
    const w = [1.1, 0.9, 0.7, 1.3];
    const b = [0.05, -0.05, 0.1, 0];
    const { f } = probeFrequencies(g, { frequencies: f64([H, HALF], freqs), ...lnParams(w, b) });
    for (let h = 0; h < H; h++) {
      const row = freqs.slice(h * HALF, (h + 1) * HALF);
      const { mean, variance } = meanStd(row);
      for (let i = 0; i < HALF; i++) close(f[h * HALF + i], ((row[i] - mean) / Math.sqrt(variance + 1e-5)) * w[i] + b[i], 1e-12);
    }
  });

  it('LRRope (spec/lr.rh) uses its stored frequencies as they are', () => {
    const g = lower('import "lr.rh"\nmodel probe = LRRope()\n', DIMS48);
    const freqs = [0.3, -1.2, 2.0, 0.05, 1, 1, 1, 1.001, -0.5, 0.5, -0.25, 0.25, 3, -3, 0, 0.1];
    const { f } = probeFrequencies(g, { frequencies: f64([H, HALF], freqs) });
    for (let j = 0; j < freqs.length; j++) close(f[j], freqs[j], 1e-13);
  });
});

describe('the interleaved pair rotation (c)', () => {
  const rotSource = `import "gpt2.rh"
module Rot {
  fn forward(x: f32[B, S, n_head, D], pos: i32[S], freq: f32[n_head, D / 2]) -> f32[B, S, n_head, D] {
    return rotate_heads(x, pos, freq)
  }
}
model rot = Rot()
`;

  it('x = [1, 2, 3, 4] at angles [pi/2, pi] becomes [-2, 1, -3, -4]', () => {
    const g = lower(rotSource, [set('n_embd', 4), set('n_head', 1)]);
    const x = f64([1, 1, 1, 4], [1, 2, 3, 4]);
    // angle = pos * freq: position 1 with freq [pi/2, pi], and position 2 with half of it
    for (const [pos, scale] of [[1, 1], [2, 0.5]]) {
      const out = run(g, { x, pos: { dtype: 'i32', shape: [1], data: Int32Array.of(pos) }, freq: f64([1, 2], [(Math.PI / 2) * scale, Math.PI * scale]) });
      const want = [-2, 1, -3, -4];
      expect(out.shape).toEqual([1, 1, 1, 4]);
      want.forEach((w, i) => close(out.data[i], w, 1e-12));
    }
    // position 0 leaves x alone
    const out0 = run(g, { x, pos: { dtype: 'i32', shape: [1], data: Int32Array.of(0) }, freq: f64([1, 2], [Math.PI / 2, Math.PI]) });
    [1, 2, 3, 4].forEach((w, i) => expect(out0.data[i]).toBe(w));
  });

  it('a quarter turn of pair 0 only: [1, 0, 0, 1] at angles [pi/2, 0] becomes [0, 1, 0, 1] (pairs are (0,1),(2,3), not halves)', () => {
    const g = lower(rotSource, [set('n_embd', 4), set('n_head', 1)]);
    const out = run(g, { x: f64([1, 1, 1, 4], [1, 0, 0, 1]), pos: { dtype: 'i32', shape: [1], data: Int32Array.of(1) }, freq: f64([1, 2], [Math.PI / 2, 0]) });
    [0, 1, 0, 1].forEach((w, i) => close(out.data[i], w, 1e-12));
  });

  it('several heads, positions and a batch: each head uses its own frequency row', () => {
    const Hh = 3;
    const Dd = 6;
    const g = lower(rotSource, [set('n_embd', Hh * Dd), set('n_head', Hh)]);
    const Bn = 2;
    const positions = [0, 3, 1, 10];
    const S = positions.length;
    const x = Array.from({ length: Bn * S * Hh * Dd }, (_, j) => Math.sin(j * 1.7) + 0.1 * j);
    const freq = Array.from({ length: Hh * (Dd / 2) }, (_, j) => 0.3 * j - 0.7);
    const out = run(g, { x: f64([Bn, S, Hh, Dd], x), pos: { dtype: 'i32', shape: [S], data: Int32Array.from(positions) }, freq: f64([Hh, Dd / 2], freq) });
    for (let b = 0; b < Bn; b++) {
      for (let s = 0; s < S; s++) {
        for (let h = 0; h < Hh; h++) {
          const off = ((b * S + s) * Hh + h) * Dd;
          const angles = freq.slice(h * (Dd / 2), (h + 1) * (Dd / 2)).map((fv) => positions[s] * fv);
          const want = rotatePairsF64(x.slice(off, off + Dd), angles);
          for (let d = 0; d < Dd; d++) close(out.data[off + d], want[d], 1e-12);
        }
      }
    }
  });
});

describe('relative position (d)', () => {
  /** q_m . k_n per head, with q and k rotated by the module at positions m and n. */
  function dots(g: Graph, params: Record<string, RefTensor>, pairs: [number, number][]): number[][] {
    const positions = [...new Set(pairs.flat())];
    const S = positions.length;
    const q = Array.from({ length: H * D }, (_, j) => Math.cos(1.3 * j) + 0.2);
    const k = Array.from({ length: H * D }, (_, j) => Math.sin(0.7 * j + 0.4) - 0.1);
    // batch 0 holds q at every position, batch 1 holds k
    const x = new Float64Array(2 * S * H * D);
    for (let s = 0; s < S; s++) {
      x.set(q, (0 * S + s) * H * D);
      x.set(k, (1 * S + s) * H * D);
    }
    const out = run(g, { x: f64([2, S, H, D], x), pos: { dtype: 'i32', shape: [S], data: Int32Array.from(positions) } }, params);
    return pairs.map(([m, n]) => {
      const qo = (0 * S + positions.indexOf(m)) * H * D;
      const ko = (1 * S + positions.indexOf(n)) * H * D;
      return Array.from({ length: H }, (_, h) => {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += out.data[qo + h * D + d] * out.data[ko + h * D + d];
        return dot;
      });
    });
  }

  const cases: [string, string, Record<string, RefTensor>][] = [
    ['GPRope', 'import "gp.rh"\nmodel probe = GPRope()\n', {}],
    [
      'GPNormRope',
      'import "gp-norm.rh"\nmodel probe = GPNormRope()\n',
      { 'layer_norm.weight': f64([HALF], [1.2, 0.8, 1, 0.6]), 'layer_norm.bias': f64([HALF], [0.1, 0, -0.1, 0.2]) },
    ],
  ];
  for (const [name, source, params] of cases) {
    it(`${name}: q_m . k_n depends only on m - n`, () => {
      const g = lower(source, DIMS48);
      const [d52, d1310, d53, d4037, d00, d33] = dots(g, params, [[5, 2], [13, 10], [5, 3], [40, 37], [0, 0], [3, 3]]);
      for (let h = 0; h < H; h++) {
        close(d1310[h], d52[h], 1e-9);
        close(d4037[h], d52[h], 1e-9);
        close(d33[h], d00[h], 1e-9);
        expect(Math.abs(d53[h] - d52[h]), `head ${h}`).toBeGreaterThan(1e-3);
      }
      // the heads rotate differently, so the same offset gives different relative changes
      const change = (h: number) => d52[h] - d00[h];
      expect(Math.abs(change(0) - change(3))).toBeGreaterThan(1e-3);
    });
  }
});

describe('causality (e)', () => {
  const VARIANTS: VariantF64[] = ['gpt2-abs', 'rope', 'lr', 'lr-norm', 'gp', 'gp-norm'];
  for (const v of VARIANTS) {
    it(`${v}: logits at t <= 3 do not depend on tokens after 3`, async () => {
      const m = initModel(path.join(ROOT, `spec/${v}.rh`), { seed: 21, overrides: [set('n_embd', 16), set('n_head', 2), set('n_layer', 2), set('n_positions', 16), set('vocab_size', 64)] });
      // sharper attention, so a leak through the mask would be large
      for (const [name, w] of m.weights) if (name.endsWith('c_attn.weight')) for (let i = 0; i < w.length; i++) w[i] *= 30;
      const a = [3, 14, 15, 9, 26, 5, 35, 8];
      const b = [3, 14, 15, 9, 63, 0, 1, 62];
      const t = 3;
      const fwd = (ids: number[]) => cpuBackend('f64').forward({ graph: m.graph, weights: m.weights, ids: Int32Array.from(ids), batch: 1, seq: ids.length });
      const [la, lb] = [await fwd(a), await fwd(b)];
      const V = 64;
      for (let j = 0; j < (t + 1) * V; j++) expect(Math.abs(la[j] - lb[j])).toBeLessThanOrEqual(1e-12);
      // and the later rows do change
      let later = 0;
      for (let j = (t + 1) * V; j < a.length * V; j++) later = Math.max(later, Math.abs(la[j] - lb[j]));
      expect(later).toBeGreaterThan(1e-3);
      // a prefix run alone gives the same first rows as the full sequence
      const lp = await fwd(a.slice(0, t + 1));
      for (let j = 0; j < (t + 1) * V; j++) expect(Math.abs(la[j] - lp[j])).toBeLessThanOrEqual(1e-12);
    });
  }
});
