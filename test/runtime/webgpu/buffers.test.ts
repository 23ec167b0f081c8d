// Chunked GPU tensors on a real adapter (SwiftShader in CI); a missing adapter fails these tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuContext, GpuError, acquireDevice } from '../../../src/runtime/webgpu/device.ts';
import { GpuTensor, createUniformBuffer, planChunks } from '../../../src/runtime/webgpu/buffers.ts';
import { PipelineCache, runDispatch } from '../../../src/runtime/webgpu/pipelines.ts';

let ctx: GpuContext;
let cache: PipelineCache;
beforeAll(async () => {
  ctx = await acquireDevice();
  cache = new PipelineCache(ctx);
});
afterAll(() => ctx?.destroy());

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

/** Embedding lookup out[t, :] = table[ids[t], :] over a table split into `chunks` bindings. */
function gatherKernel(chunks: number) {
  const decls = Array.from({ length: chunks }, (_, c) => `@group(0) @binding(${c + 3}) var<storage, read> table${c}: array<f32>;`);
  const reads = Array.from({ length: chunks }, (_, c) => `if (chunk == ${c}u) { v = table${c}[at]; }`);
  return {
    name: `gather_${chunks}_chunks`,
    code: /* wgsl */ `
struct Params { rows_per_chunk: u32, dim: u32, tokens: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${decls.join('\n')}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.tokens * p.dim) { return; }
  let id = ids[i / p.dim];
  let chunk = id / p.rows_per_chunk;
  let at = (id % p.rows_per_chunk) * p.dim + i % p.dim;
  var v = 0.0;
  ${reads.join('\n  ')}
  out[i] = v;
}`,
  };
}

async function gather(table: GpuTensor, ids: number[]): Promise<Float32Array> {
  const dim = table.shape[1];
  const idTensor = await GpuTensor.fromData(ctx, 'ids', [ids.length], Uint32Array.from(ids), { dtype: 'u32' });
  const out = await GpuTensor.create(ctx, 'out', [ids.length, dim]);
  const params = createUniformBuffer(ctx, 'gather params', new Uint32Array([table.rowsPerChunk, dim, ids.length]));
  await runDispatch(ctx, {
    pipeline: await cache.get(gatherKernel(table.chunks.length)),
    bindings: [params, idTensor.chunks[0].buffer, out.chunks[0].buffer, ...table.chunks.map((c) => c.buffer)],
    workgroups: Math.ceil((ids.length * dim) / 64),
  });
  const result = await out.readback();
  idTensor.destroy();
  out.destroy();
  params.destroy();
  return result;
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

describe('GpuTensor', () => {
  it('round-trips a split tensor exactly', async () => {
    const data = pattern(50 * 12);
    const t = await GpuTensor.fromData(ctx, 'split', [50, 12], data, { maxChunkBytes: 1000 });
    // 48-byte rows: 20 fit in 1000 bytes, 16 is the largest count whose boundaries are 256-aligned.
    expect(t.chunks.map((c) => c.rowCount)).toEqual([16, 16, 16, 2]);
    expect(await t.readback()).toEqual(data);
    t.destroy();
  });

  it('gathers embedding rows from a table split into 3 chunks, like plain JS', async () => {
    const [rows, dim] = [40, 8];
    const data = pattern(rows * dim, 7);
    const table = await GpuTensor.fromData(ctx, 'wte', [rows, dim], data, { maxChunkBytes: 512 });
    expect(table.chunks.length).toBe(3);
    expect(table.rowsPerChunk).toBe(16);
    expect(table.locateRow(33)).toEqual({ chunk: 2, row: 1 });
    const ids = [0, 15, 16, 31, 32, 39, 7, 20, 35, 16, 0];
    expect(await gather(table, ids)).toEqual(gatherJs(data, dim, ids));
    table.destroy();
  });

  it('stores and gathers from a GPT-2 medium sized embedding (206 MB) with a 128 MiB limit', async () => {
    const [rows, dim] = [50257, 1024];
    const data = pattern(rows * dim, 3);
    const wte = await GpuTensor.fromData(ctx, 'wte', [rows, dim], data, { maxChunkBytes: 128 * MiB });
    expect(wte.chunks.length).toBe(2);
    const ids = [0, 1, wte.rowsPerChunk - 1, wte.rowsPerChunk, 50256, 15496];
    expect(await gather(wte, ids)).toEqual(gatherJs(data, dim, ids));
    expect(firstMismatch(await wte.readback(), data)).toBe(-1);
    wte.destroy();
  });

  it('gives a clear error for a tensor that cannot be split under the limit', async () => {
    const err = await GpuTensor.create(ctx, 'blocks.0.mlp', [4, 300], { maxChunkBytes: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('limit');
    expect((err as GpuError).message).toMatch(/'blocks\.0\.mlp'.*4800 bytes.*1200 bytes.*1000 bytes/);
  });

  it('reports a failed allocation with the tensor name and size', async () => {
    // MAP_READ may only be combined with COPY_DST: the device refuses these buffers.
    const err = await GpuTensor.create(ctx, 'bad_usage', [3, 5], { usage: 0x1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('validation');
    expect((err as GpuError).message).toMatch(/could not allocate tensor 'bad_usage' \[3, 5\] of 60 bytes/);
    expect(() => ctx.throwIfFailed()).not.toThrow(); // caught by the error scope, not left uncaptured
  });

  it('rejects uploads of the wrong type or length', async () => {
    const t = await GpuTensor.create(ctx, 'small', [2, 2]);
    expect(() => t.upload(new Float32Array(3))).toThrow(/'small'.*4 elements.*3/);
    expect(() => t.upload(new Int32Array(4) as unknown as Float32Array)).toThrow(/Float32Array/);
    t.destroy();
  });
});
