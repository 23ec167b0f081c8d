// Tensors in GPU memory. A tensor larger than what one storage binding (or one buffer) may hold
// is split along its first axis into several GPUBuffers ("chunks"): GPT-2 medium's token
// embedding is 206 MB while browsers and many GPUs bind at most 128 MiB. Kernels that read a
// chunked tensor bind each chunk separately and pick the chunk from the row index
// (chunk = row / rowsPerChunk; all chunks but the last hold exactly rowsPerChunk rows).

import { BufferUsage, GpuContext, GpuError, MapMode, createBuffersChecked, fromGpuError } from './device.ts';

export type DType = 'f32' | 'i32' | 'u32';
export interface ArrayOf {
  f32: Float32Array;
  i32: Int32Array;
  u32: Uint32Array;
}
const ARRAY_CTOR = { f32: Float32Array, i32: Int32Array, u32: Uint32Array } as const;
const BYTES_PER_ELEMENT = 4; // every DType above

export interface ChunkLayout {
  rowStart: number;
  rowCount: number;
  /** Byte offset of the chunk's first row within the whole tensor. */
  byteOffset: number;
  byteSize: number;
}

export interface ChunkPlan {
  rows: number;
  rowBytes: number;
  rowsPerChunk: number;
  chunks: ChunkLayout[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const formatBytes = (n: number) =>
  n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB (${n} bytes)` : `${n} bytes`;

/**
 * Splits a tensor of `shape` into chunks of at most `limitBytes`, on whole rows of the first
 * axis. Where possible every chunk starts at a multiple of `alignment` bytes within the tensor
 * (minStorageBufferOffsetAlignment), so the same plan could also be bound as ranges of one buffer.
 */
export function planChunks(name: string, shape: readonly number[], limitBytes: number, alignment = 256): ChunkPlan {
  const rows = shape.length === 0 ? 1 : shape[0];
  const rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT;
  const total = rows * rowBytes;
  if (rowBytes > limitBytes) {
    throw new GpuError(
      'limit',
      `tensor '${name}' [${shape.join(', ')}] (${formatBytes(total)}) cannot be stored: one row along ` +
        `its first axis is ${formatBytes(rowBytes)}, more than the limit of ${formatBytes(limitBytes)} per buffer binding`,
    );
  }
  let rowsPerChunk = Math.max(rows, 1);
  if (total > limitBytes) {
    const maxRows = Math.floor(limitBytes / rowBytes);
    const step = alignment / gcd(rowBytes, alignment); // rows per aligned boundary
    rowsPerChunk = Math.floor(maxRows / step) * step || maxRows; // separate buffers need no alignment
  }
  const chunks: ChunkLayout[] = [];
  for (let rowStart = 0; rowStart < rows || chunks.length === 0; rowStart += rowsPerChunk) {
    const rowCount = Math.min(rowsPerChunk, rows - rowStart);
    chunks.push({ rowStart, rowCount, byteOffset: rowStart * rowBytes, byteSize: rowCount * rowBytes });
  }
  return { rows, rowBytes, rowsPerChunk, chunks };
}

export interface TensorOptions<D extends DType> {
  dtype?: D;
  /** Extra GPUBufferUsage flags; STORAGE | COPY_SRC | COPY_DST are always set. */
  usage?: number;
  /** Split at this many bytes instead of the device limit (tests force splitting with it). */
  maxChunkBytes?: number;
}

export interface TensorChunk extends ChunkLayout {
  buffer: GPUBuffer;
}

export class GpuTensor<D extends DType = 'f32'> {
  private constructor(
    readonly ctx: GpuContext,
    readonly name: string,
    readonly shape: readonly number[],
    readonly dtype: D,
    readonly plan: ChunkPlan,
    readonly chunks: readonly TensorChunk[],
  ) {}

  /** Allocates (uninitialised) GPU storage; throws GpuError when it cannot. */
  static async create<D extends DType = 'f32'>(
    ctx: GpuContext,
    name: string,
    shape: readonly number[],
    options: TensorOptions<D> = {},
  ): Promise<GpuTensor<D>> {
    const { maxStorageBufferBindingSize, maxBufferSize, minStorageBufferOffsetAlignment } = ctx.limits;
    const deviceLimit = Math.min(maxStorageBufferBindingSize, maxBufferSize);
    const limit = Math.floor(Math.min(deviceLimit, options.maxChunkBytes ?? Infinity) / 4) * 4;
    const plan = planChunks(name, shape, limit, minStorageBufferOffsetAlignment);
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST | (options.usage ?? 0);

    const buffers = await createBuffersChecked(
      ctx,
      plan.chunks.map((c, i) => ({
        label: plan.chunks.length > 1 ? `${name}[chunk ${i}]` : name,
        // Size 0 is legal for a buffer but not for a binding; give empty tensors 4 bytes.
        size: Math.max(c.byteSize, 4),
        usage,
      })),
      `tensor '${name}' [${shape.join(', ')}] of ${formatBytes(plan.rows * plan.rowBytes)} in ${plan.chunks.length} chunk(s) of at most ${formatBytes(limit)}`,
    );
    const chunks = plan.chunks.map((c, i) => ({ ...c, buffer: buffers[i] }));
    return new GpuTensor(ctx, name, shape, (options.dtype ?? 'f32') as D, plan, chunks);
  }

  /** create() followed by upload(). */
  static async fromData<D extends DType = 'f32'>(
    ctx: GpuContext,
    name: string,
    shape: readonly number[],
    data: ArrayOf[D],
    options: TensorOptions<D> = {},
  ): Promise<GpuTensor<D>> {
    const t = await GpuTensor.create(ctx, name, shape, options);
    t.upload(data);
    return t;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get byteSize(): number {
    return this.size * BYTES_PER_ELEMENT;
  }
  get rowsPerChunk(): number {
    return this.plan.rowsPerChunk;
  }

  /** Which chunk holds `row` of the first axis, and the row's index within that chunk. */
  locateRow(row: number): { chunk: number; row: number } {
    const chunk = Math.floor(row / this.plan.rowsPerChunk);
    return { chunk, row: row - chunk * this.plan.rowsPerChunk };
  }

  /** Copies the whole tensor from host memory (queued; ordered before later submits). */
  upload(data: ArrayOf[D]): void {
    if (!(data instanceof ARRAY_CTOR[this.dtype]) || data.length !== this.size) {
      throw new GpuError(
        'validation',
        `upload to tensor '${this.name}' [${this.shape.join(', ')}]: expected a ${ARRAY_CTOR[this.dtype].name} ` +
          `of ${this.size} elements, got a ${data.constructor.name} of ${data.length}`,
      );
    }
    this.ctx.throwIfFailed();
    for (const c of this.chunks) {
      if (c.byteSize === 0) continue;
      // For typed arrays, writeBuffer's offset and size count elements, not bytes.
      this.ctx.device.queue.writeBuffer(c.buffer, 0, data, c.byteOffset / BYTES_PER_ELEMENT, c.byteSize / BYTES_PER_ELEMENT);
    }
  }

  /** Reads the whole tensor back through staging buffers (one per chunk, each within limits). */
  async readback(): Promise<ArrayOf[D]> {
    const { ctx } = this;
    const { device } = ctx;
    ctx.throwIfFailed();
    const out = new ARRAY_CTOR[this.dtype](this.size) as ArrayOf[D];
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label: `readback ${this.name}` });
    const staging = this.chunks.map((c) => {
      const s = device.createBuffer({
        label: `readback ${this.name}`,
        size: Math.max(c.byteSize, 4),
        usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      });
      if (c.byteSize > 0) encoder.copyBufferToBuffer(c.buffer, 0, s, 0, c.byteSize);
      return s;
    });
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    try {
      if (error) throw fromGpuError(error, `reading back tensor '${this.name}'`);
      await Promise.all(staging.map((s) => s.mapAsync(MapMode.READ)));
      for (const [i, c] of this.chunks.entries()) {
        if (c.byteSize === 0) continue;
        const view = new ARRAY_CTOR[this.dtype](staging[i].getMappedRange(0, c.byteSize));
        out.set(view, c.byteOffset / BYTES_PER_ELEMENT);
      }
    } catch (e) {
      ctx.throwIfFailed(); // a lost device explains a failed mapAsync better than its AbortError
      if (e instanceof GpuError) throw e;
      throw new GpuError('internal', `reading back tensor '${this.name}': ${(e as Error).message}`);
    } finally {
      for (const s of staging) s.destroy(); // also unmaps
    }
    ctx.throwIfFailed();
    return out;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
  }
}

/** A small uniform buffer (kernel parameters), padded to 16 bytes as WGSL uniform structs are. */
export function createUniformBuffer(ctx: GpuContext, label: string, data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = ctx.device.createBuffer({ label, size, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
  ctx.device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}
