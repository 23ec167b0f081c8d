// The GPU buffers of a plan: allocated once (each inside its own error scopes, so an
// out-of-memory names the tensor), weights and constants uploaded once, chunked tensors as one
// GPUBuffer per chunk of whole rows.

import { byteSize, DTYPES } from '../../ir/dtypes.ts';
import { RhcError } from '../../errors.ts';
import { chunkElements, type PlanBuffer, type WebGpuPlan } from '../../../backends/webgpu/plan.ts';
import { BufferUsage, GpuError, createBuffersChecked, type GpuContext } from './device.ts';

/**
 * Weights by checkpoint tensor name: in memory, or fetched on demand (a browser streams them).
 * Each is checked here, once, against the shape the plan gives it.
 */
export type WeightSource = ReadonlyMap<string, Float32Array> | ((name: string) => Promise<Float32Array>);

/** A decoder's KV caches, in the order of the plan's decoding.caches. */
export interface CacheSet {
  readonly buffers: readonly GPUBuffer[];
  destroy(): void;
}

export interface ChunkedBuffer {
  readonly chunks: readonly GPUBuffer[];
  /** elements per chunk (all but the last are full) */
  readonly chunkElements: number;
  destroy(): void;
}

const mib = (n: number) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`);

function describe(b: PlanBuffer): string {
  const shape = b.shape ? ` [${b.shape.join(', ')}]` : '';
  return b.checkpoint !== undefined ? `tensor '${b.checkpoint}'${shape}` : `${b.role} buffer '${b.label}'${shape}`;
}

/** Byte size of each chunk (one entry when the buffer is not split). */
function chunkSizes(b: PlanBuffer): number[] {
  const c = b.chunking;
  if (!c) return [b.bytes];
  return Array.from({ length: c.chunks }, (_, i) => byteSize(b.dtype, Math.min(c.rowsPerChunk, c.rows - i * c.rowsPerChunk) * c.rowElements));
}

async function allocate(ctx: GpuContext, b: PlanBuffer): Promise<ChunkedBuffer> {
  const sizes = chunkSizes(b);
  const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
  const chunks = await createBuffersChecked(
    ctx,
    // Sizes are rounded to 16 bytes so a kernel may read the buffer as vec4s.
    sizes.map((bytes, i) => ({ label: sizes.length > 1 ? `${b.label} [chunk ${i}]` : b.label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage })),
    `${describe(b)}: ${mib(sizes.reduce((x, y) => x + y, 0))} in ${sizes.length} buffer(s) (maxBufferSize ${mib(ctx.limits.maxBufferSize)})`,
  );
  return { chunks, chunkElements: b.chunking ? chunkElements(b.chunking) : Number.MAX_SAFE_INTEGER, destroy: () => chunks.forEach((c) => c.destroy()) };
}

function upload(ctx: GpuContext, target: ChunkedBuffer, data: Float32Array | Int32Array): void {
  const per = target.chunkElements;
  target.chunks.forEach((chunk, i) => {
    const start = i * per;
    const count = Math.min(data.length - start, per);
    // For typed arrays, writeBuffer's offset and size count elements.
    if (count > 0) ctx.device.queue.writeBuffer(chunk, 0, data, start, count);
  });
}

function elementsOf(b: PlanBuffer): number {
  return (b.shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
}

async function weightData(weights: WeightSource, b: PlanBuffer): Promise<Float32Array> {
  const name = b.checkpoint!;
  const data = typeof weights === 'function' ? await weights(name) : weights.get(name);
  if (!data) throw new RhcError(`no weights for tensor '${name}' (the model needs it)`);
  const want = elementsOf(b);
  if (!(data instanceof Float32Array) || data.length !== want)
    throw new RhcError(`tensor '${name}' has ${data.length} values, the model expects [${(b.shape ?? []).join(', ')}] = ${want}`);
  return data;
}

function constantData(constants: Uint8Array | undefined, b: PlanBuffer): Float32Array | Int32Array {
  const c = b.constant!;
  if (!constants || c.byteOffset + c.byteLength > constants.byteLength)
    throw new RhcError(`the artifact's constants (${constants?.byteLength ?? 0} bytes) do not hold '${b.label}' (bytes ${c.byteOffset}..${c.byteOffset + c.byteLength})`);
  // Copy: the blob's offset into its ArrayBuffer need not be 4-aligned.
  const bytes = constants.slice(c.byteOffset, c.byteOffset + c.byteLength);
  return new DTYPES[b.dtype].array(bytes.buffer);
}

/** Every buffer of the plan, filled where the plan says what fills it. */
export async function createPlanBuffers(ctx: GpuContext, plan: WebGpuPlan, constants: Uint8Array | undefined, weights: WeightSource): Promise<Map<number, ChunkedBuffer>> {
  const made = new Map<number, ChunkedBuffer>();
  try {
    for (const b of plan.buffers) {
      if (b.role === 'input' && b.chunking) throw new GpuError('limit', `input ${describe(b)} is larger than one binding`);
      const buffer = await allocate(ctx, b);
      made.set(b.id, buffer);
      if (b.role === 'weight') upload(ctx, buffer, await weightData(weights, b));
      else if (b.role === 'constant') upload(ctx, buffer, constantData(constants, b));
      ctx.throwIfFailed();
    }
  } catch (e) {
    for (const b of made.values()) b.destroy();
    throw e;
  }
  return made;
}
