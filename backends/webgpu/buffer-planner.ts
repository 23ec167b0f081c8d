// Buffers: sizing (every buffer is allocated once, for the largest batch and sequence the plan
// allows, so runs never reallocate), splitting what exceeds one binding into chunks of whole
// rows, and memory planning: activations whose lifetimes (first to last dispatch binding them)
// do not overlap share one physical buffer, assigned greedily (best fit, growing if needed).
// The plan's `memory` section sums the result by kind, with the activations also unshared.

import { byteSize, DTYPES } from '../../src/ir/dtypes.ts';
import { type Dim, dimSymbols, dimToString } from '../../src/ir/dims.ts';
import { RhcError } from '../../src/errors.ts';
import { planChunks } from '../../src/runtime/webgpu/buffers.ts';
import type { DispatchDraft } from './kernel-writer.ts';
import type { BufferRole, PlanChunking, PlanMemory } from './plan.ts';
import type { LogicalBuffer } from './values.ts';

type Spec = Omit<LogicalBuffer, 'id' | 'elements' | 'chunking'>;

/**
 * An upper bound of a dim when each symbol is at most its bound: symbols are sizes (>= 0), so
 * a term with a negative coefficient (the -1 of S - 1) only lowers the value and is dropped.
 */
export function maxValue(d: Dim, bounds: ReadonlyMap<string, number>): number {
  if (typeof d === 'number') return d;
  let total = 0;
  for (const [m, c] of d.terms) {
    if (c < 0) continue;
    let v = c;
    for (const s of m ? m.split('*') : []) {
      const b = bounds.get(s);
      if (b === undefined) throw new Error(`WebGPU backend: no upper bound for the size '${s}' (give it in the compile options' bounds)`);
      v *= b;
    }
    total += v;
  }
  return total;
}

/** The most elements one buffer may hold: kernels address elements with u32 indices. */
export const MAX_BUFFER_ELEMENTS = 2 ** 32 - 1;

/** What sets a size: the symbols' and config keys' names a user can lower, by the dims of a shape. */
export type SizeLevers = (shape: readonly Dim[]) => string[];

const count = (n: number) => n.toLocaleString('en-US');

export class BufferPlanner {
  readonly all: LogicalBuffer[] = [];

  constructor(
    private readonly bounds: ReadonlyMap<string, number>,
    private readonly maxBindingBytes: number,
    private readonly levers: SizeLevers = () => [],
  ) {}

  create(spec: Spec): LogicalBuffer {
    const elements = spec.shape.reduce<number>((a, d) => a * maxValue(d, this.bounds), 1);
    if (elements > MAX_BUFFER_ELEMENTS) this.tooLarge(spec, elements);
    const b: LogicalBuffer = { ...spec, id: this.all.length, elements, ...chunked(spec.label, spec.shape, elements, DTYPES[spec.dtype].bytes, this.maxBindingBytes) };
    this.all.push(b);
    return b;
  }

  /** A size the kernels cannot index is the user's config, not rhc's bug: say which and what to lower. */
  private tooLarge(spec: Spec, elements: number): never {
    const what = spec.role === 'weight' ? `tensor '${spec.label}'` : spec.role === 'input' ? `input '${spec.label}'` : `buffer '${spec.label}'`;
    const symbols = [...new Set(spec.shape.flatMap(dimSymbols))];
    const at = symbols.length > 0 ? ` at ${symbols.map((s) => `${s}=${this.bounds.get(s)}`).join(', ')}` : '';
    const levers = this.levers(spec.shape);
    throw new RhcError(
      `WebGPU: ${what} [${spec.shape.map(dimToString).join(', ')}]${at} has ${count(elements)} elements, more than the ${count(MAX_BUFFER_ELEMENTS)} a kernel can index (u32); ` +
        `lower ${levers.length > 0 ? levers.join(' or ') : "the model's dims"}`,
    );
  }
}

/**
 * Chunk rows: a weight's rows along its first axis; an activation's along its trailing static
 * dims. Where such a row alone is more than a binding holds (the training step's logits,
 * [1, 1024, 50257] at batch 1: one 196 MiB row of the batch axis), the row narrows to fewer
 * trailing dims until it fits: kernels address chunks by flat element, so any row size works.
 */
function chunked(label: string, shape: readonly Dim[], elements: number, bytesPerElement: number, limit: number): { chunking?: PlanChunking } {
  if (elements * bytesPerElement <= limit) return {};
  let from = shape.length;
  while (from > 0 && typeof shape[from - 1] === 'number') from--;
  if (from === 0) from = Math.min(1, shape.length); // all static: rows of the first axis
  const trailing = (k: number) => (shape.slice(k) as number[]).reduce((a, d) => a * d, 1);
  while (from < shape.length && trailing(from) * bytesPerElement > limit) from++;
  const rowElements = trailing(from);
  const rows = elements / rowElements;
  const plan = planChunks(label, [rows, rowElements], limit, 256);
  return { chunking: { rows, rowElements, rowsPerChunk: plan.rowsPerChunk, chunks: plan.chunks.length } };
}

export interface PhysicalBuffer {
  id: number;
  role: BufferRole;
  bytes: number;
  /** the logical buffers it holds, in order of first use */
  holds: LogicalBuffer[];
}

const bytesOf = (b: LogicalBuffer) => Math.max(16, Math.ceil(byteSize(b.dtype, b.elements) / 16) * 16);

/** Maps logical buffers onto physical ones; only unchunked activations are shared. */
export function assignPhysical(buffers: readonly LogicalBuffer[], dispatches: readonly DispatchDraft[]): Map<LogicalBuffer, PhysicalBuffer> {
  const first = new Map<LogicalBuffer, number>();
  const last = new Map<LogicalBuffer, number>();
  dispatches.forEach((d, i) => {
    for (const { buffer } of d.bindings) {
      if (!first.has(buffer)) first.set(buffer, i);
      last.set(buffer, i);
    }
  });
  const result = new Map<LogicalBuffer, PhysicalBuffer>();
  const physical: PhysicalBuffer[] = [];
  const own = (b: LogicalBuffer) => {
    const p: PhysicalBuffer = { id: physical.length, role: b.role, bytes: bytesOf(b), holds: [b] };
    physical.push(p);
    result.set(b, p);
    return p;
  };
  // Fixed buffers first, so their ids are stable and readable (weights, then the rest).
  for (const b of buffers) if (b.role !== 'activation' || b.chunking) own(b);
  const shared = buffers.filter((b) => b.role === 'activation' && !b.chunking && first.has(b)).sort((x, y) => first.get(x)! - first.get(y)!);
  const busy: { p: PhysicalBuffer; until: number }[] = [];
  const free: PhysicalBuffer[] = [];
  for (const b of shared) {
    const start = first.get(b)!;
    for (let i = busy.length - 1; i >= 0; i--) if (busy[i].until < start) free.push(busy.splice(i, 1)[0].p);
    const need = bytesOf(b);
    const fits = free.filter((p) => p.bytes >= need).sort((x, y) => x.bytes - y.bytes)[0];
    const pick = fits ?? free.sort((x, y) => y.bytes - x.bytes)[0];
    let p: PhysicalBuffer;
    if (pick) {
      free.splice(free.indexOf(pick), 1);
      p = pick;
      p.bytes = Math.max(p.bytes, need);
      p.holds.push(b);
      result.set(b, p);
    } else p = own(b);
    busy.push({ p, until: last.get(b)! });
  }
  return result;
}

/** The bytes of a decoder's caches for `batch` sequences, each cache allocated as the runtime does (program.ts). */
export function kvCacheBytes(bytesPerBatchRow: readonly number[], batch: number): number {
  return bytesPerBatchRow.reduce((n, row) => n + Math.max(16, Math.ceil((batch * row) / 16) * 16), 0);
}

/**
 * The plan's memory by kind, from the assignment: every physical buffer counted once; the
 * activations also as their sum without reuse (each value its own buffer), so the saving shows.
 * `kvRows` are the bytes per batch row of each of a decoder's caches, absent for no decoder.
 */
export function planMemory(physical: ReadonlyMap<LogicalBuffer, PhysicalBuffer>, kvRows: readonly number[] | undefined, maxBatch: number): PlanMemory {
  const byRole: Record<BufferRole, number> = { weight: 0, constant: 0, table: 0, activation: 0, input: 0, output: 0 };
  for (const p of new Set(physical.values())) byRole[p.role] += p.bytes;
  let withoutReuse = 0;
  for (const b of physical.keys()) if (b.role === 'activation') withoutReuse += bytesOf(b);
  return {
    weights: byRole.weight,
    constants: byRole.constant,
    tables: byRole.table,
    activations: { planned: byRole.activation, withoutReuse },
    inputs: byRole.input,
    outputs: byRole.output,
    ...(kvRows && kvRows.length > 0 ? { kvCache: { perBatchRow: kvCacheBytes(kvRows, 1), atMaxBatch: kvCacheBytes(kvRows, maxBatch), maxBatch } } : {}),
  };
}
