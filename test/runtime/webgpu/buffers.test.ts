// Chunked GPU tensors: how a tensor is split (planChunks), and on a real adapter (SwiftShader in
// CI; a missing adapter fails these tests) weights split by the compiler's binding limit,
// uploaded, read by kernels and read back through the runtime that runs every model
// (PlanProgram / WebGpuModel over program-buffers.ts).
import { describe, expect, it } from 'vitest';
import { compileWebGpu, type WebGpuArtifact } from '../../../backends/webgpu/index.ts';
import type { PlanBuffer } from '../../../backends/webgpu/plan.ts';
import { GpuError } from '../../../src/runtime/webgpu/device.ts';
import { planChunks } from '../../../src/runtime/webgpu/buffers.ts';
import { WebGpuModel } from '../../../src/runtime/webgpu/model.ts';
import { PlanProgram } from '../../../src/runtime/webgpu/program.ts';
import { buildGraph, gpu, N, useDevice } from '../../backends/webgpu/helpers.ts';

useDevice();

const MiB = 2 ** 20;

/** Deterministic pseudo-random f32 values (no Math.random: failures must reproduce). */
function pattern(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** Index of the first element whose bits differ, or -1 (toEqual is far too slow for 51M elements). */
function firstMismatch(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function gatherJs(table: Float32Array, dim: number, ids: number[]): Float32Array {
  const out = new Float32Array(ids.length * dim);
  ids.forEach((id, t) => out.set(table.subarray(id * dim, (id + 1) * dim), t * dim));
  return out;
}

/** rows = gather(param `name` [rows, dim], ids [N]), compiled with `maxBindingBytes` (default: the 128 MiB default). */
function gatherArtifact(name: string, rows: number, dim: number, maxBindingBytes?: number): { artifact: WebGpuArtifact; table: PlanBuffer } {
  const g = buildGraph(['N'], (b, input) => {
    const table = b.add('param', [], { name, dtype: 'f32', shape: [rows, dim], init: { kind: 'zeros' } });
    return { rows: b.add('gather', [table, input('ids', 'i32', [N])]) };
  });
  const artifact = compileWebGpu(g, { specName: 'test', decoding: false, passes: [], bounds: { N: 16 }, maxBindingBytes });
  return { artifact, table: artifact.plan.buffers.find((b) => b.checkpoint === name)! };
}

/** Rows per chunk of a chunked plan buffer, as the runtime allocates them. */
const chunkRows = (b: PlanBuffer) => Array.from({ length: b.chunking!.chunks }, (_, i) => Math.min(b.chunking!.rowsPerChunk, b.chunking!.rows - i * b.chunking!.rowsPerChunk));

/** The gathered rows of `ids`, through WebGpuModel.run. */
async function gather(model: WebGpuModel, ids: number[]): Promise<Float32Array> {
  const out = await model.run({ ids: { data: Int32Array.from(ids), shape: [ids.length] } });
  return out.get('rows') as Float32Array;
}

describe('planChunks', () => {
  it('splits GPT-2 medium wte (206 MB) under a 128 MiB binding limit on aligned row boundaries', () => {
    const plan = planChunks('wte', [50257, 1024], 128 * MiB, 256);
    expect(plan.chunks.length).toBe(2);
    expect(plan.chunks.reduce((n, c) => n + c.rowCount, 0)).toBe(50257);
    for (const c of plan.chunks) {
      expect(c.byteSize).toBeLessThanOrEqual(128 * MiB);
      expect(c.byteOffset % 256).toBe(0);
    }
  });

  it('keeps a tensor within the limit in one chunk, empty and scalar tensors included', () => {
    expect(planChunks('a', [10, 10], 1024).chunks).toEqual([{ rowStart: 0, rowCount: 10, byteOffset: 0, byteSize: 400 }]);
    expect(planChunks('s', [], 1024).chunks).toEqual([{ rowStart: 0, rowCount: 1, byteOffset: 0, byteSize: 4 }]);
    expect(planChunks('e', [0, 8], 1024).chunks).toEqual([{ rowStart: 0, rowCount: 0, byteOffset: 0, byteSize: 0 }]);
  });

  it('names the tensor, its size and the limit when one row is too large', () => {
    expect(() => planChunks('huge', [2, 1000], 1024)).toThrow(/tensor 'huge' \[2, 1000\] \(8000 bytes\).*4000 bytes.*1024 bytes/);
  });
});

describe('chunked weights on the device', () => {
  it('round-trips a split weight exactly (uploaded per chunk, read back across chunks)', async () => {
    const data = pattern(50 * 12);
    const { artifact, table } = gatherArtifact('split', 50, 12, 1000);
    // 48-byte rows: 20 fit in 1000 bytes, 16 is the largest count whose boundaries are 256-aligned.
    expect(chunkRows(table)).toEqual([16, 16, 16, 2]);
    const program = await PlanProgram.create(gpu.ctx, artifact, new Map([['split', data]]));
    try {
      const [whole, straddling] = await program.run({
        dims: new Map([['N', 1]]),
        inputs: new Map([['ids', new Int32Array(1)]]),
        reads: [
          { buffer: table.id, dtype: 'f32', start: 0, count: data.length },
          { buffer: table.id, dtype: 'f32', start: 16 * 12 - 5, count: 16 * 12 + 10 }, // parts of three chunks
        ],
      });
      expect(whole).toEqual(data);
      expect(straddling).toEqual(data.slice(16 * 12 - 5, 2 * 16 * 12 + 5));
    } finally {
      program.destroy();
    }
  });

  it('gathers embedding rows from a table split into 3 chunks, like plain JS', async () => {
    const [rows, dim] = [40, 8];
    const data = pattern(rows * dim, 7);
    const { artifact, table } = gatherArtifact('wte', rows, dim, 512);
    expect(table.chunking).toEqual({ rows, rowElements: dim, rowsPerChunk: 16, chunks: 3 });
    const model = await WebGpuModel.create(gpu.ctx, artifact, new Map([['wte', data]]));
    try {
      const ids = [0, 15, 16, 31, 32, 39, 7, 20, 35, 16, 0];
      expect(await gather(model, ids)).toEqual(gatherJs(data, dim, ids));
    } finally {
      model.destroy();
    }
  });

  it('stores and gathers from a GPT-2 medium sized embedding (206 MB) with the default 128 MiB limit', async () => {
    const [rows, dim] = [50257, 1024];
    const data = pattern(rows * dim, 3);
    const { artifact, table } = gatherArtifact('wte', rows, dim);
    expect(table.chunking!.chunks).toBe(2);
    expect(artifact.plan.requirements.maxStorageBufferBindingSize).toBeLessThanOrEqual(128 * MiB);
    const program = await PlanProgram.create(gpu.ctx, artifact, new Map([['wte', data]]));
    try {
      const perChunk = table.chunking!.rowsPerChunk;
      const ids = [0, 1, perChunk - 1, perChunk, 50256, 15496];
      const out = artifact.plan.outputs.find((o) => o.name === 'rows')!;
      const [gathered, whole] = await program.run({
        dims: new Map([['N', ids.length]]),
        inputs: new Map([['ids', Int32Array.from(ids)]]),
        reads: [
          { buffer: out.buffer, dtype: 'f32', start: 0, count: ids.length * dim },
          { buffer: table.id, dtype: 'f32', start: 0, count: data.length },
        ],
      });
      expect(gathered).toEqual(gatherJs(data, dim, ids));
      expect(firstMismatch(whole as Float32Array, data)).toBe(-1);
    } finally {
      program.destroy();
    }
  });

  it('splits a tensor whose one row exceeds the limit along fewer trailing dims, and computes through the pieces', async () => {
    // [2, 600] f32 under 2000-byte bindings: a row of the first axis is 2400 bytes, so the rows
    // narrow to single elements, 448 to a chunk (the largest count on 256-byte boundaries).
    const g = buildGraph([], (b) => {
      const w = b.add('param', [], { name: 'blocks.0.mlp', dtype: 'f32', shape: [2, 600], init: { kind: 'zeros' } });
      return { y: b.add('add', [w, w]) };
    });
    const artifact = compileWebGpu(g, { specName: 'test', decoding: false, passes: [], maxBindingBytes: 2000 });
    const w = artifact.plan.buffers.find((b) => b.checkpoint === 'blocks.0.mlp')!;
    expect(w.chunking).toEqual({ rows: 1200, rowElements: 1, rowsPerChunk: 448, chunks: 3 });
    const data = pattern(1200, 7);
    const program = await PlanProgram.create(gpu.ctx, artifact, new Map([['blocks.0.mlp', data]]));
    try {
      const y = artifact.plan.outputs.find((o) => o.name === 'y')!;
      const [got] = await program.run({ dims: new Map(), inputs: new Map(), reads: [{ buffer: y.buffer, dtype: 'f32', start: 0, count: 1200 }] });
      expect(firstMismatch(got as Float32Array, data.map((v) => 2 * v))).toBe(-1); // doubling is exact
    } finally {
      program.destroy();
    }
  });

  it('reports a failed allocation with the tensor name and size', async () => {
    const g = buildGraph([], (b) => ({ y: b.add('exp', [b.add('param', [], { name: 'too_big', dtype: 'f32', shape: [3, 5], init: { kind: 'zeros' } })]) }));
    const artifact = compileWebGpu(g, { specName: 'test', decoding: false, passes: [] });
    // A plan (here: edited) whose buffer exceeds maxBufferSize: the device refuses to allocate it.
    const plan = structuredClone(artifact.plan);
    const bytes = Math.ceil((gpu.ctx.limits.maxBufferSize + 1) / 16) * 16;
    plan.buffers.find((b) => b.checkpoint === 'too_big')!.bytes = bytes;
    const err = await WebGpuModel.create(gpu.ctx, { ...artifact, plan }, new Map([['too_big', new Float32Array(15)]])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('validation');
    expect((err as GpuError).message).toContain(`could not allocate tensor 'too_big' [3, 5]: ${(bytes / MiB).toFixed(1)} MiB in 1 buffer(s)`);
    expect(() => gpu.ctx.throwIfFailed()).not.toThrow(); // caught by the error scope, not left uncaptured
  });

  it('rejects inputs of the wrong type or length before writing them', async () => {
    const g = buildGraph([], (b, input) => ({ y: b.add('exp', [input('small', 'f32', [2, 2])]) }));
    const model = await WebGpuModel.create(gpu.ctx, compileWebGpu(g, { specName: 'test', decoding: false, passes: [] }), new Map());
    try {
      await expect(model.run({ small: { data: new Float32Array(3), shape: [2, 2] } })).rejects.toThrow(/'small' needs 4 values.*got 3/);
      await expect(model.run({ small: { data: new Int32Array(4), shape: [2, 2] } })).rejects.toThrow(/Float32Array/);
    } finally {
      model.destroy();
    }
  });
});
