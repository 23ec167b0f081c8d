// A compiled model on a WebGPU device: forward passes over whole sequences, and decoders that
// keep a KV cache on the GPU (keys stored already rotated, each new token rotated at its
// absolute position). Weights are uploaded once; only logits are read back. A decoder computes
// and reads just the last position's row: plans with decoding.logitRowsSymbol run ln_f and the
// lm_head on that many final positions, every one for a forward and one for a decoder.
// Browser-safe: no Node APIs, the same file runs in a page.

import { DTYPES } from '../../ir/dtypes.ts';
import { RhcError } from '../../errors.ts';
import { evalDimText, type PlanIO, type WebGpuArtifact, type WebGpuPlan } from '../../../backends/webgpu/plan.ts';
import { checkAppend, positions, type Decoder } from '../decoder.ts';
import type { GpuContext } from './device.ts';
import { PlanProgram, type CacheSet, type ReadRequest, type WeightSource } from './program.ts';

export type { WeightSource } from './program.ts';

export interface TensorData {
  data: Int32Array | Float32Array;
  shape: readonly number[];
}

export class WebGpuModel {
  private constructor(private readonly program: PlanProgram) {}

  static async create(ctx: GpuContext, artifact: WebGpuArtifact, weights: WeightSource): Promise<WebGpuModel> {
    return new WebGpuModel(await PlanProgram.create(ctx, artifact, weights));
  }

  get plan(): WebGpuPlan {
    return this.program.plan;
  }

  /** The largest batch forward() takes. */
  get maxBatch(): number {
    const d = this.plan.decoding;
    return d ? this.symbolMax(d.batchSymbol) : 1;
  }

  /** The most tokens one forward() takes (a decoder feeds longer prompts in pieces). */
  get maxSeq(): number {
    const d = this.plan.decoding;
    return d ? this.symbolMax(d.seqSymbol) : 0;
  }

  /** Positions a sequence may span (n_positions). */
  get capacity(): number {
    return this.plan.decoding?.capacity ?? (this.plan.config.n_positions as number);
  }

  private symbolMax(name: string): number {
    return this.plan.symbols.find((s) => s.name === name)?.max ?? 0;
  }

  /**
   * Runs the plan on named inputs (sizes bound from their shapes; a KV-cache plan runs with an
   * empty cache) and reads back the named outputs (default: all).
   */
  async run(inputs: Readonly<Record<string, TensorData>>, outputs?: readonly string[]): Promise<Map<string, Float32Array | Int32Array>> {
    const dims = new Map<string, number>();
    for (const input of this.plan.inputs) {
      const given = inputs[input.name];
      if (!given) throw new RhcError(`missing input '${input.name}' [${input.shape.join(', ')}]`);
      input.shape.forEach((d, i) => {
        if (typeof d === 'string' && /^[A-Za-z_]\w*$/.test(d)) {
          const seen = dims.get(d);
          if (seen !== undefined && seen !== given.shape[i]) throw new RhcError(`input '${input.name}' axis ${i} is ${given.shape[i]}, but ${d} is ${seen} elsewhere`);
          dims.set(d, given.shape[i]);
        }
      });
    }
    const rows = this.plan.decoding?.logitRowsSymbol;
    if (rows && !dims.has(rows)) dims.set(rows, dims.get(this.plan.decoding!.seqSymbol) ?? 0); // every position's logits
    for (const s of this.plan.symbols) if (!dims.has(s.name)) dims.set(s.name, 0);
    const wanted = this.plan.outputs.filter((o) => !outputs || outputs.includes(o.name));
    const reads = wanted.map((o) => fullRead(o, dims));
    const data = new Map(Object.entries(inputs).map(([k, v]) => [k, v.data]));
    const results = await this.execute(dims, data, undefined, reads);
    return new Map(wanted.map((o, i) => [o.name, results[i]]));
  }

  /** Logits [batch, seq, vocab] of ids [batch, seq] at positions offset .. offset+seq-1. */
  async forward(ids: Int32Array, batch: number, seq: number, positionOffset = 0): Promise<Float32Array> {
    const d = this.decoding();
    if (positionOffset + seq > d.capacity)
      throw new RhcError(`positions ${positionOffset}..${positionOffset + seq - 1} exceed the model's ${d.capacity} positions`);
    const dims = new Map([[d.batchSymbol, batch], [d.seqSymbol, seq], [d.pastSymbol, 0]]);
    if (d.logitRowsSymbol) dims.set(d.logitRowsSymbol, seq);
    const inputs = new Map<string, Int32Array>([[d.idsInput, ids], [d.positionsInput, positions(seq, positionOffset)]]);
    const logits = this.output(d.logitsOutput);
    const [out] = await this.execute(dims, inputs, undefined, [fullRead(logits, dims)]);
    return out as Float32Array;
  }

  /** Incremental decoding of one sequence, with its own KV cache on the GPU. */
  decoder(): Decoder {
    const d = this.decoding();
    const logits = this.output(d.logitsOutput);
    const vocab = Number(logits.shape[logits.shape.length - 1]);
    // Allocated now; a device that cannot hold them fails the first append, naming the KV cache.
    const caches = this.program.createCaches(1);
    caches.catch(() => undefined); // awaited by append; unhandled if nothing is appended
    let length = 0;
    let disposed = false;
    return {
      capacity: d.capacity,
      get length() {
        return length;
      },
      append: async (ids) => {
        if (disposed) throw new RhcError('this decoder was disposed');
        checkAppend(ids, length, d.capacity);
        const idsInput = this.plan.inputs.find((x) => x.name === d.idsInput)!;
        if (idsInput.indexes) checkIndexes(idsInput, Int32Array.from(ids)); // all of them, before any piece runs
        const cacheSet = await caches;
        // Pieces of at most maxSeq tokens (the activations' size); only the last piece's last row is
        // read, and with logitRowsSymbol (bound to 1) it is the only row computed.
        let row: Float32Array | Int32Array = new Float32Array(0);
        for (let at = 0; at < ids.length; at += this.maxSeq) {
          const piece = Int32Array.from(ids.slice(at, at + this.maxSeq));
          const dims = new Map([[d.batchSymbol, 1], [d.seqSymbol, piece.length], [d.pastSymbol, length]]);
          if (d.logitRowsSymbol) dims.set(d.logitRowsSymbol, 1);
          const inputs = new Map<string, Int32Array>([[d.idsInput, piece], [d.positionsInput, positions(piece.length, length)]]);
          const lastRow = d.logitRowsSymbol ? 0 : piece.length - 1;
          const reads: ReadRequest[] = at + piece.length < ids.length ? [] : [{ buffer: logits.buffer, dtype: 'f32', start: lastRow * vocab, count: vocab }];
          [row = row] = await this.execute(dims, inputs, cacheSet, reads);
          length += piece.length;
        }
        return row as Float32Array;
      },
      reset: () => {
        length = 0;
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        void caches.then((c) => {
          this.program.release(c);
          c.destroy();
        }, () => undefined);
      },
    };
  }

  destroy(): void {
    this.program.destroy();
  }

  private decoding(): NonNullable<WebGpuPlan['decoding']> {
    const d = this.plan.decoding;
    if (!d) throw new RhcError(`this plan (${this.plan.model}) was compiled without token ids, positions and a KV cache; use run()`);
    return d;
  }

  private output(name: string): PlanIO {
    const o = this.plan.outputs.find((x) => x.name === name);
    if (!o) throw new RhcError(`the plan has no output '${name}'`);
    return o;
  }

  /** Checks sizes and inputs against the plan, then runs it. */
  private execute(dims: Map<string, number>, inputs: ReadonlyMap<string, Int32Array | Float32Array>, caches: CacheSet | undefined, reads: ReadRequest[]) {
    for (const s of this.plan.symbols) {
      const v = dims.get(s.name) ?? 0;
      if (!Number.isInteger(v) || v < 0) throw new RhcError(`size ${s.name} must be a non-negative integer, got ${v}`);
      const hint = s.name === this.plan.decoding?.batchSymbol ? ` (compile with a larger maxBatch: rhc compile --target webgpu --max-batch ${v})` : s.name === this.plan.decoding?.seqSymbol ? ' (compile with a larger maxSeq)' : '';
      if (v > s.max) throw new RhcError(`size ${s.name} = ${v} exceeds ${s.max}, the most this plan was compiled for${hint}`);
    }
    const d = this.plan.decoding;
    if (d) {
      const end = (dims.get(d.pastSymbol) ?? 0) + (dims.get(d.seqSymbol) ?? 0);
      if (end > d.capacity) throw new RhcError(`positions up to ${end - 1} exceed the model's ${d.capacity} positions`);
    }
    for (const input of this.plan.inputs) {
      const data = inputs.get(input.name)!;
      const want = input.shape.reduce<number>((a, x) => a * evalDimText(x, dims), 1);
      if (!data || data.length !== want) throw new RhcError(`input '${input.name}' needs ${want} values for [${input.shape.join(', ')}], got ${data?.length ?? 0}`);
      const array = DTYPES[input.dtype].array;
      if (!(data instanceof array)) throw new RhcError(`input '${input.name}' must be given as ${array.name} (${input.dtype})`);
      if (input.indexes) checkIndexes(input, data as Int32Array);
    }
    return this.program.run({ dims, inputs, caches, reads });
  }
}

function checkIndexes(input: PlanIO, data: Int32Array): void {
  const { rows, table } = input.indexes!;
  const bad = data.findIndex((v) => v < 0 || v >= rows);
  if (bad >= 0) throw new RhcError(`input '${input.name}' holds ${data[bad]} at index ${bad}, outside [0, ${rows}) (the rows of ${table})`);
}

function fullRead(o: PlanIO, dims: ReadonlyMap<string, number>): ReadRequest {
  return { buffer: o.buffer, dtype: o.dtype, start: 0, count: o.shape.reduce<number>((a, x) => a * evalDimText(x, dims), 1) };
}
