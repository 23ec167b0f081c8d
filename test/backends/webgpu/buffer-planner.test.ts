// Memory planning without a GPU: hand-made lifetimes whose sharing and peak bytes are derived by
// hand, then the liveness of a real model's schedule checked against the dispatch order.

import { describe, expect, it } from 'vitest';
import { assignPhysical, BufferPlanner, kvCacheBytes, planMemory, type PhysicalBuffer } from '../../../backends/webgpu/buffer-planner.ts';
import type { DispatchDraft } from '../../../backends/webgpu/kernel-writer.ts';
import type { BufferRole } from '../../../backends/webgpu/plan.ts';
import { scheduleGraph } from '../../../backends/webgpu/schedule.ts';
import type { LogicalBuffer } from '../../../backends/webgpu/values.ts';
import { pipelineFor, runPipeline } from '../../../src/passes/pipeline.ts';
import { compileSpec, SMALL } from '../../passes/fixtures.ts';

const KIB = 1024;
const planner = new BufferPlanner(new Map(), 128 * 2 ** 20);
/** A buffer of `bytes` (f32 elements) with a role. */
const buf = (label: string, bytes: number, role: BufferRole = 'activation', p = planner) =>
  p.create({ dtype: 'f32', role, shape: [bytes / 4], label, ...(role === 'weight' ? { checkpoint: label } : {}) });
/** A dispatch binding these buffers (the planner reads only the bindings and their order). */
const dispatch = (...buffers: LogicalBuffer[]): DispatchDraft => ({
  op: 'k', code: '', bindings: buffers.map((buffer) => ({ buffer })), uniforms: [], grid: { linear: { count: 1 } }, workgroupSize: [1, 1, 1],
});
const physicalBytes = (m: ReadonlyMap<LogicalBuffer, PhysicalBuffer>, role: BufferRole = 'activation') =>
  [...new Set(m.values())].filter((p) => p.role === role).reduce((n, p) => n + p.bytes, 0);

describe('assignPhysical', () => {
  it('shares a chain of values two buffers deep: a value written by the dispatch reading another never takes its buffer', () => {
    // a [0,1], b [1,2], c [2,3], d [3,3]: a and c, b and d never overlap; a and b meet at 1.
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((l) => buf(l, KIB));
    const m = assignPhysical([a, b, c, d], [dispatch(a), dispatch(a, b), dispatch(b, c), dispatch(c, d)]);
    expect(m.get(c)).toBe(m.get(a));
    expect(m.get(d)).toBe(m.get(b));
    expect(m.get(b)).not.toBe(m.get(a));
    expect(physicalBytes(m)).toBe(2 * KIB);
    expect(planMemory(m, undefined, 1).activations).toEqual({ planned: 2 * KIB, withoutReuse: 4 * KIB });
  });

  it('keeps a value read by several dispatches alive until its last reader', () => {
    // a [0,3] (read at 1 and 3), b [1,2], c [2,3], e [3,3]: only b's buffer is free at 3, so e takes it.
    const [a, b, c, e] = ['a', 'b', 'c', 'e'].map((l) => buf(l, KIB));
    const m = assignPhysical([a, b, c, e], [dispatch(a), dispatch(a, b), dispatch(b, c), dispatch(a, c, e)]);
    expect(m.get(e)).toBe(m.get(b));
    expect(new Set([m.get(a), m.get(b), m.get(c)]).size).toBe(3);
    expect(physicalBytes(m)).toBe(3 * KIB); // 2 KiB were a freed after its first reader
  });

  it('picks the smallest free buffer that fits (best fit), so a later large value still finds one', () => {
    // big 4 KiB and small 1 KiB end at 1; then m (1 KiB) and n (4 KiB) start at 2.
    // Best fit: m -> small, n -> big = 5 KiB. Taking big for m would grow small to 4 KiB for n: 8 KiB.
    const big = buf('big', 4 * KIB);
    const small = buf('small', KIB);
    const out = buf('out', 16, 'output');
    const m1 = buf('m', KIB);
    const n1 = buf('n', 4 * KIB);
    const m = assignPhysical([big, small, out, m1, n1], [dispatch(big, small), dispatch(big, small, out), dispatch(m1, n1)]);
    expect(m.get(m1)).toBe(m.get(small));
    expect(m.get(n1)).toBe(m.get(big));
    expect(physicalBytes(m)).toBe(5 * KIB);
    expect(planMemory(m, undefined, 1).activations).toEqual({ planned: 5 * KIB, withoutReuse: 10 * KIB });
  });

  it('grows the largest free buffer when none fits rather than allocating another', () => {
    // a 1 KiB [0,1], b 4 KiB [1,2], c 2 KiB [2,2]: a's buffer is free at 2 and grows to 2 KiB.
    const a = buf('a', KIB);
    const b = buf('b', 4 * KIB);
    const c = buf('c', 2 * KIB);
    const m = assignPhysical([a, b, c], [dispatch(a), dispatch(a, b), dispatch(b, c)]);
    expect(m.get(c)).toBe(m.get(a));
    expect(m.get(a)!.bytes).toBe(2 * KIB);
    expect(physicalBytes(m)).toBe(6 * KIB);
  });

  it('splits a tensor whose first-axis row alone exceeds a binding along fewer trailing dims', () => {
    const chunky = new BufferPlanner(new Map(), KIB);
    // [1, 8, 256] f32: one 8 KiB row of the batch axis; rows of 256 elements (1 KiB) fit.
    const logits = chunky.create({ dtype: 'f32', role: 'activation', shape: [1, 8, 256], label: 'logits' });
    expect(logits.chunking).toEqual({ rows: 8, rowElements: 256, rowsPerChunk: 1, chunks: 8 });
    // a row that fits keeps the first axis: [4, 128] in 2 chunks of 2 rows
    const w = chunky.create({ dtype: 'f32', role: 'weight', shape: [4, 128], label: 'w' });
    expect(w.chunking).toEqual({ rows: 4, rowElements: 128, rowsPerChunk: 2, chunks: 2 });
  });

  it('never shares weights, constants, tables, inputs, outputs or chunked activations, and allocates no unbound value', () => {
    const chunky = new BufferPlanner(new Map(), KIB);
    const x = buf('x', KIB, 'input');
    const w = buf('w', KIB, 'weight');
    const k = buf('k', KIB, 'constant');
    const o = buf('o', KIB, 'output');
    const t = buf('t', KIB, 'table'); // computed at load, read by every run
    const h = chunky.create({ dtype: 'f32', role: 'activation', shape: [4, 256], label: 'h' }); // 4 KiB in 1 KiB chunks
    expect(h.chunking?.chunks).toBe(4);
    const a1 = buf('a1', 64);
    const a2 = buf('a2', KIB); // starts when x, w, k, o and h are all past their last use
    const unused = buf('unused', KIB);
    const m = assignPhysical([x, w, k, o, t, h, a1, a2, unused], [dispatch(t), dispatch(x, w, h), dispatch(h, k, a1), dispatch(a1, o), dispatch(a2)]);
    // a2 would fit o's or h's buffer exactly; it grows a1's instead.
    expect(m.get(a2)).toBe(m.get(a1));
    expect(m.get(a1)!.bytes).toBe(KIB);
    for (const b of [x, w, k, o, t, h]) expect(m.get(b)!.holds).toEqual([b]);
    expect(m.has(unused)).toBe(false);
    expect(planMemory(m, undefined, 1)).toEqual({
      weights: KIB,
      constants: KIB,
      tables: KIB,
      activations: { planned: 4 * KIB + KIB, withoutReuse: 4 * KIB + 64 + KIB },
      inputs: KIB,
      outputs: KIB,
    });
  });

  it('allocates whole 16-byte words, at least one', () => {
    const three = planner.create({ dtype: 'f32', role: 'activation', shape: [3], label: 'three' }); // 12 B -> 16
    const five = planner.create({ dtype: 'f32', role: 'activation', shape: [5], label: 'five' }); // 20 B -> 32
    const one = planner.create({ dtype: 'f32', role: 'weight', shape: [1], label: 'one', checkpoint: 'one' }); // 4 B -> 16
    const m = assignPhysical([three, five, one], [dispatch(three, five, one)]);
    expect(planMemory(m, undefined, 1)).toMatchObject({ weights: 16, activations: { planned: 48, withoutReuse: 48 } });
  });
});

describe('planMemory: the KV cache', () => {
  it('counts each cache as the runtime allocates it, for one sequence and for the largest batch', () => {
    expect(kvCacheBytes([8192, 8192], 3)).toBe(49152);
    expect(kvCacheBytes([20], 1)).toBe(32); // 20 B in whole words
    expect(kvCacheBytes([20], 3)).toBe(64); // 60 B, one allocation for the batch
    expect(planMemory(new Map(), [8192, 8192], 3).kvCache).toEqual({ perBatchRow: 16384, atMaxBatch: 49152, maxBatch: 3 });
    expect(planMemory(new Map(), [], 3).kvCache).toBeUndefined();
  });
});

describe('the liveness of a real schedule', () => {
  // lr-norm at two layers with a KV cache, as compileWebGpu schedules it.
  const g = runPipeline(compileSpec('lr-norm'), pipelineFor({ tabulate: false, kvCache: true }));
  const bounds = new Map(g.symbols.map((s) => [s, s === 'B' ? 2 : SMALL.n_positions]));
  const s = scheduleGraph(g, { bounds, maxBindingBytes: 128 * 2 ** 20, cacheCapacity: SMALL.n_positions });
  const m = assignPhysical(s.buffers, s.dispatches);
  // Each value's lifetime, from the dispatch order: first binding to last.
  const life = new Map<LogicalBuffer, [number, number]>();
  s.dispatches.forEach((d, i) => {
    for (const { buffer } of d.bindings) life.set(buffer, [life.get(buffer)?.[0] ?? i, i]);
  });

  it('gives values that share a buffer disjoint lifetimes, and shares only unchunked activations', () => {
    const shared = [...new Set(m.values())].filter((p) => p.holds.length > 1);
    expect(shared.length).toBeGreaterThan(0);
    for (const p of shared) {
      expect(p.role).toBe('activation');
      const spans = p.holds.map((b) => life.get(b)!).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i][0], `${p.holds.map((b) => b.label)}`).toBeGreaterThan(spans[i - 1][1]);
      for (const b of p.holds) expect(b.role === 'activation' && !b.chunking).toBe(true);
      expect(p.bytes).toBe(Math.max(...p.holds.map((b) => Math.ceil((b.elements * 4) / 16) * 16)));
    }
  });

  it("starts every activation's lifetime at a dispatch that may write it (it carries no value between runs)", () => {
    for (const [b, [first]] of life) {
      if (b.role !== 'activation') continue;
      const d = s.dispatches[first];
      const slot = d.bindings.findIndex((r) => r.buffer === b);
      expect(d.code, b.label).toMatch(new RegExp(`@binding\\(${slot + 1}\\) var<storage, read_write>`));
    }
  });

  it("ends a forward's KV cache within its layer, before the next layer's cache begins", () => {
    expect(s.caches).toHaveLength(2 * SMALL.n_layer);
    for (const c of s.caches) {
      const next = s.caches.find((o) => o.layer === c.layer + 1 && o.kind === c.kind);
      if (next) expect(life.get(c.buffer)![1]).toBeLessThan(life.get(next.buffer)![0]);
    }
  });
});
