// The bench's accounting (bench/plan-stats.ts), so that its dispatch counts, bytes moved and
// planned memory cannot drift silently: first on a plan written by hand, where every number is
// derived below; then on a tiny compiled GP+norm model, against numbers derived from the
// model's dims alone (what any correct plan of it must read and write, whatever it fuses).

import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { bytesMoved, countDispatches, liveDispatches, planDims, plannedMemory, type RunShape } from '../../bench/plan-stats.ts';
import { DEFAULT_LEVEL, lowerForBench, planForBench, type WebGpuArtifact } from '../../bench/rhc-api.ts';
import { ROOT } from '../helpers/rh.ts';

/** WGSL declaring storage bindings 1.. with the given access (all the accounting reads of a kernel). */
const wgsl = (...access: ('read' | 'read_write')[]) => access.map((a, j) => `@group(0) @binding(${j + 1}) var<storage, ${a}> b${j}: array<f32>;`).join('\n');

const w = 'read_write' as const;
const r = 'read' as const;

// ids -> embedding (gathers wte rows) -> one layer (matmul with a constant, KV append, attention) -> lm_head.
const HAND: WebGpuArtifact = {
  kernels: { 'k0.wgsl': wgsl(r, r, w), 'k1.wgsl': wgsl(r, r, r, w), 'k2.wgsl': wgsl(r, w), 'k3.wgsl': wgsl(r, r, w), 'k4.wgsl': wgsl(r, r, w) },
  plan: {
    format: 'rhc-webgpu-plan',
    version: 1,
    spec: 'hand',
    model: 'hand',
    config: {},
    symbols: [{ name: 'B', max: 1 }, { name: 'S', max: 8 }, { name: 'P', max: 8 }],
    maxBindingBytes: 1 << 27,
    requirements: { maxStorageBufferBindingSize: 1 << 27, maxStorageBuffersPerShaderStage: 4, maxComputeInvocationsPerWorkgroup: 64 },
    uniformStride: 256,
    kernels: [0, 1, 2, 3, 4].map((k) => ({ name: `k${k}`, file: `k${k}.wgsl`, entryPoint: 'main', storageBindings: [3, 4, 2, 3, 3][k], workgroupSize: [64, 1, 1] as [number, number, number] })),
    buffers: [
      { id: 0, role: 'input', dtype: 'i32', bytes: 32, shape: ['B', 'S'], label: 'ids' },
      { id: 1, role: 'weight', dtype: 'f32', bytes: 160, shape: [10, 4], checkpoint: 'transformer.wte.weight', label: 'wte' },
      { id: 2, role: 'weight', dtype: 'f32', bytes: 64, shape: [4, 4], checkpoint: 'transformer.h.0.mlp.weight', label: 'w' },
      { id: 3, role: 'activation', dtype: 'f32', bytes: 512, label: 'shared by 2 values' },
      { id: 4, role: 'activation', dtype: 'f32', bytes: 256, label: 'shared: the forward KV cache and more' },
      { id: 5, role: 'output', dtype: 'f32', bytes: 320, shape: ['B', 'S', 10], label: 'logits' },
      { id: 6, role: 'constant', dtype: 'f32', bytes: 16, shape: [2, 2], constant: { byteOffset: 0, byteLength: 16 }, label: 'table' },
      { id: 7, role: 'activation', dtype: 'f32', bytes: 512, label: 'shared by 2 values' },
    ],
    inputs: [{ name: 'ids', dtype: 'i32', shape: ['B', 'S'], buffer: 0, indexes: { rows: 10, table: 'transformer.wte.weight' } }],
    outputs: [{ name: 'logits', dtype: 'f32', shape: ['B', 'S', 10], buffer: 5 }],
    decoding: {
      idsInput: 'ids', positionsInput: 'pos', logitsOutput: 'logits', batchSymbol: 'B', seqSymbol: 'S', pastSymbol: 'P', capacity: 8,
      caches: [{ layer: 0, kind: 'key', shape: ['B', 2, 8, 4], bytesPerBatchRow: 256, forwardBuffer: 4 }],
    },
    dispatches: [
      { kernel: 0, label: 'embed', bindings: [{ buffer: 0 }, { buffer: 1 }, { buffer: 3 }], uniforms: [], grid: { linear: { count: '4*B*S', per: 64 } } },
      { kernel: 1, label: 'mm', bindings: [{ buffer: 2 }, { buffer: 3 }, { buffer: 6 }, { buffer: 7 }], uniforms: [], grid: { x: { count: 4 }, y: { count: 'B*S' } } },
      { kernel: 2, label: 'append', bindings: [{ buffer: 7 }, { buffer: 4, kvCache: 0 }], uniforms: [], grid: { linear: { count: '8*B*S' } } },
      { kernel: 3, label: 'attention', bindings: [{ buffer: 7 }, { buffer: 4, kvCache: 0 }, { buffer: 3 }], uniforms: [], grid: { x: { count: 'S' }, y: { count: '2*B' } } },
      { kernel: 4, label: 'lm_head', bindings: [{ buffer: 1 }, { buffer: 3 }, { buffer: 5 }], uniforms: [], grid: { x: { count: 10 }, y: { count: 'B*S' } } },
      // no workgroups while S <= 8: the runtime skips it, and so does the count
      { kernel: 2, label: 'never', bindings: [{ buffer: 7 }, { buffer: 4, kvCache: 0 }], uniforms: [], grid: { linear: { count: 'S', base: 8 } } },
    ],
  } as unknown as WebGpuArtifact['plan'],
};

// embed, mm and attention write [B, S, 4] values into the shared buffers.
const handWritten = (i: number, dims: ReadonlyMap<string, number>) => ([0, 1, 3].includes(i) ? dims.get('B')! * dims.get('S')! * 4 : undefined);

describe('plan-stats on a hand-written plan', () => {
  it('counts the dispatches that run, per layer and outside', () => {
    expect(liveDispatches(HAND.plan, planDims(HAND.plan, { batch: 1, seq: 3, past: 0 }))).toEqual([0, 1, 2, 3, 4]);
    // embed and lm_head bind wte (no layer); mm binds h.0's weight; append and attention layer 0's cache
    expect(countDispatches(HAND, { batch: 1, seq: 3, past: 0 })).toEqual({ total: 5, perLayer: [3], outside: 2 });
  });

  it('counts bytes by binding at a prefill (S = 3, P = 0)', () => {
    // read: ids 3*4 (io); wte 3 rows of 16 (gathered) + 160 whole (lm_head); w 64; table 16;
    // the shared buffers at the 48 bytes last written to them, read by mm, append, attention, lm_head;
    // the cache's P + S = 3 rows of 2 heads * 4 floats (96). written: 3 values of 48, 3 cache rows (96), logits 3*10*4.
    const b = bytesMoved(HAND, { batch: 1, seq: 3, past: 0 }, handWritten);
    expect(b.read).toEqual({ weights: 48 + 160 + 64, tables: 16, activations: 4 * 48, kvCache: 96, io: 12 });
    expect(b.written).toEqual({ weights: 0, tables: 0, activations: 3 * 48, kvCache: 96, io: 120 });
    expect(b.total).toBe(272 + 16 + 192 + 96 + 12 + 144 + 96 + 120);
    expect(b.unresolved).toBe(0);
  });

  it('counts bytes of a decode step (S = 1, P = 5): the cache read grows with P, its write does not', () => {
    const b = bytesMoved(HAND, { batch: 1, seq: 1, past: 5 }, handWritten);
    expect(b.read).toEqual({ weights: 16 + 160 + 64, tables: 16, activations: 4 * 16, kvCache: 6 * 32, io: 4 });
    expect(b.written).toEqual({ weights: 0, tables: 0, activations: 3 * 16, kvCache: 32, io: 40 });
  });

  it('counts a shared buffer of unknown contents at its allocation, and says how often', () => {
    const b = bytesMoved(HAND, { batch: 1, seq: 3, past: 0 });
    expect(b.unresolved).toBe(3);
    expect(b.written.activations).toBe(512 * 3);
    // an impossible size (larger than the buffer) is not believed either
    expect(bytesMoved(HAND, { batch: 1, seq: 3, past: 0 }, () => 1000).unresolved).toBe(3);
  });

  it('splits planned memory by role', () => {
    expect(plannedMemory(HAND.plan)).toEqual({ weights: 224, tables: 16, activations: 32 + 512 + 256 + 320 + 512, uniforms: 6 * 256, kvCache: 256, forward: 224 + 16 + 1632 + 1536, decoding: 224 + 16 + 1632 + 1536 + 256 });
  });
});

describe('plan-stats on a compiled GP+norm model', () => {
  const d = { n_layer: 2, n_embd: 32, n_head: 2, vocab_size: 64, n_positions: 16 };
  const { n_layer: L, n_embd: E, n_head: H, vocab_size: V, n_positions: N } = d;
  const D = E / H;
  const { artifact, writtenElements } = planForBench(lowerForBench(path.join(ROOT, 'spec/gp-norm.rh'), d), 'gp-norm', DEFAULT_LEVEL);
  const f = 4;
  // Every tensor of the checkpoint, from the model's definition (spec/gpt2.rh, spec/gp-norm.rh).
  const layer = 2 * E + (E * 3 * E + 3 * E) + (E * E + E) + 2 * (D / 2) + 2 * E + (E * 4 * E + 4 * E) + (4 * E * E + E);
  const weights = (V * E + N * E + L * layer + 2 * E) * f;
  const wpe = N * E * f;

  it('plans the weights and a decoder KV cache the model needs', () => {
    const m = plannedMemory(artifact.plan);
    expect(m.weights).toBe(weights);
    expect(m.kvCache).toBe(L * 2 * H * N * D * f);
    expect(m.decoding).toBe(m.forward + m.kvCache);
  });

  const cases: { name: string; shape: RunShape; logitRows: number }[] = [
    { name: 'prefill of 3', shape: { batch: 1, seq: 3, past: 0 }, logitRows: 3 },
    { name: 'prompt of 3 (first token)', shape: { batch: 1, seq: 3, past: 0, logitRows: 1 }, logitRows: artifact.plan.decoding?.logitRowsSymbol ? 1 : 3 },
    { name: 'decode step at 5', shape: { batch: 1, seq: 1, past: 5, logitRows: 1 }, logitRows: 1 },
  ];
  for (const c of cases) {
    it(`moves what the model must for a ${c.name}`, () => {
      const { seq: S, past: P } = c.shape;
      const b = bytesMoved(artifact, c.shape, writtenElements);
      expect(b.unresolved).toBe(0);
      // each weight once, wte twice (S gathered rows, then whole as the lm_head), wpe's S rows
      // only; the frequency LayerNorms' weight and bias [D/2] not at all: the position tables
      // they feed were computed at load
      expect(b.read.weights).toBe(weights - wpe + 2 * S * E * f - L * 2 * (D / 2) * f);
      // attention reads P + S rows of keys and values per layer; the append writes S rows
      expect(b.read.kvCache).toBe(L * 2 * (P + S) * E * f);
      expect(b.written.kvCache).toBe(L * 2 * S * E * f);
      expect(b.written.io).toBe(c.logitRows * V * f);
    });
  }

  it('assigns every dispatch to one layer or to none, layers contiguous', () => {
    const shape = { batch: 1, seq: 3, past: 0 };
    const c = countDispatches(artifact, shape);
    const live = liveDispatches(artifact.plan, planDims(artifact.plan, shape)).map((i) => artifact.plan.dispatches[i]);
    const names = (x: (typeof live)[number]) => x.bindings.map((b) => artifact.plan.buffers.find((y) => y.id === b.buffer)?.checkpoint ?? '');
    // layer 1 runs from its first dispatch binding a transformer.h.1 tensor to the first binding ln_f
    const start = live.findIndex((x) => names(x).some((n) => n.startsWith('transformer.h.1.')));
    const end = live.findIndex((x) => names(x).some((n) => n.startsWith('transformer.ln_f.')));
    expect(c.perLayer).toHaveLength(L);
    expect(c.perLayer[1]).toBe(end - start);
    // outside the layers: the embedding (wte, wpe), ln_f and the lm_head (wte)
    expect(c.outside).toBe(live.filter((x) => names(x).some((n) => /^transformer\.(wte|wpe|ln_f)\./.test(n))).length);
    expect(c.perLayer[0] + c.perLayer[1] + c.outside).toBe(c.total);
    expect(c.total).toBe(live.length);
  });
});
