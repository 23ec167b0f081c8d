// How a tensor is split into chunks. A tensor larger than what one storage binding (or one
// buffer) may hold is split into several GPUBuffers ("chunks") on whole rows: of its first axis
// where such a row fits, else of fewer trailing dims (the planner picks them): GPT-2
// medium's token embedding is 206 MB while browsers and many GPUs bind at most 128 MiB. The
// compiler's buffer planner decides the split (backends/webgpu/buffer-planner.ts), the plan
// records it, and the runtime allocates one GPUBuffer per chunk (program-buffers.ts). Kernels
// that read a chunked tensor bind each chunk separately and pick the chunk from the row index
// (chunk = row / rowsPerChunk; all chunks but the last hold exactly rowsPerChunk rows).

import { GpuError } from './device.ts';

const BYTES_PER_ELEMENT = 4; // f32, i32 and u32 alike

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
