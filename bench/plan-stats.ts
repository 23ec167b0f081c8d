// What a compiled WebGPU plan costs, counted from the plan itself (plan.json and its kernels):
// dispatches per forward and per layer, bytes each dispatch's bindings move, and the memory the
// plan allocates. Pure (no GPU), so the same counts come from any artifact, here or on a device.
// bench/README.md says how each number is counted; test/bench/plan-stats.test.ts checks them.

import { DTYPES, evalDimText, gridDimSize, isDType, type PlanBuffer, type WebGpuArtifact, type WebGpuPlan } from './rhc-runtime.ts';

/** A run's sizes: batch rows, new tokens, and tokens already in the KV cache. */
export interface RunShape {
  batch: number;
  seq: number;
  past: number;
  /**
   * positions whose logits are computed, in plans that compute only the last ones (a forward
   * computes every position's, the default; a decoder's prompt or step only the last one's)
   */
  logitRows?: number;
}

/** Bytes per element of a plan dtype, from rhc's dtype table. */
function dtypeBytes(dtype: string): number {
  if (!isDType(dtype)) throw new Error(`plan-stats: no byte size for dtype '${dtype}'`);
  return DTYPES[dtype].bytes;
}

/** The plan's symbol values for a run: its decoding symbols bound, any other symbol 0. */
export function planDims(plan: WebGpuPlan, shape: RunShape): Map<string, number> {
  const d = plan.decoding;
  if (!d) throw new Error(`plan-stats: plan ${plan.model} has no decoding section (no batch/seq/past symbols to bind)`);
  const dims = new Map(plan.symbols.map((s) => [s.name, 0]));
  dims.set(d.batchSymbol, shape.batch).set(d.seqSymbol, shape.seq).set(d.pastSymbol, shape.past);
  if (d.logitRowsSymbol) dims.set(d.logitRowsSymbol, shape.logitRows ?? shape.seq);
  return dims;
}

/** Indices of the dispatches that run at `dims`: the runtime skips those with no workgroups. */
export function liveDispatches(plan: WebGpuPlan, dims: ReadonlyMap<string, number>): number[] {
  const out: number[] = [];
  plan.dispatches.forEach((d, i) => {
    if (i < (plan.prepare ?? 0)) return; // the prepare phase ran once, at load
    const g = d.grid;
    const axes = 'linear' in g ? [g.linear] : [g.x, g.y, g.z].filter((a) => a !== undefined);
    if (axes.every((a) => gridDimSize(a, dims) > 0)) out.push(i);
  });
  return out;
}

/** Per kernel, per plan binding j: whether the WGSL declares @binding(j + 1) read_write. */
export function writtenBindings(artifact: WebGpuArtifact): boolean[][] {
  return artifact.plan.kernels.map((k) => {
    const code = artifact.kernels[k.file];
    if (code === undefined) throw new Error(`plan-stats: the artifact has no kernel file ${k.file}`);
    const out: boolean[] = new Array(k.storageBindings).fill(false);
    for (const m of code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*(read_write|read)>/g)) out[Number(m[1]) - 1] = m[2] === 'read_write';
    return out;
  });
}

/** GPT-2's checkpoint names put layer i's tensors under `h.<i>.` */
const LAYER_TENSOR = /(?:^|\.)h\.(\d+)\./;

export interface DispatchCounts {
  /** dispatches one run encodes */
  total: number;
  /** per transformer layer, in order */
  perLayer: number[];
  /** embedding, final norm, lm_head and whatever belongs to no layer */
  outside: number;
}

/**
 * A dispatch belongs to layer i when it binds one of layer i's weights or KV caches, to no layer
 * when it binds only other weights (wte, wpe, ln_f), and otherwise (it binds activations only:
 * a cast of positions, cos/sin) to the layer of the next dispatch that says, as it computes
 * that dispatch's inputs.
 */
export function countDispatches(artifact: WebGpuArtifact, shape: RunShape): DispatchCounts {
  const plan = artifact.plan;
  const live = liveDispatches(plan, planDims(plan, shape));
  const buffers = new Map(plan.buffers.map((b) => [b.id, b]));
  const layers = plan.decoding?.caches.reduce((n, c) => Math.max(n, c.layer + 1), 0) ?? 0;
  const tags: (number | 'outside' | undefined)[] = live.map((i) => {
    let tag: number | 'outside' | undefined;
    for (const b of plan.dispatches[i].bindings) {
      if (b.kvCache !== undefined) tag = plan.decoding!.caches[b.kvCache].layer;
      const name = buffers.get(b.buffer)?.checkpoint;
      if (name === undefined) continue;
      const m = LAYER_TENSOR.exec(name);
      if (m) tag = Number(m[1]);
      else tag ??= 'outside';
    }
    return tag;
  });
  for (let i = tags.length - 1, next: number | 'outside' | undefined; i >= 0; i--) tags[i] = next = tags[i] ?? next;
  for (let i = 0, prev: number | 'outside' | undefined; i < tags.length; i++) tags[i] = prev = tags[i] ?? prev;
  const perLayer = new Array(Math.max(layers, ...tags.map((t) => (typeof t === 'number' ? t + 1 : 0)))).fill(0);
  let outside = 0;
  for (const t of tags) typeof t === 'number' ? perLayer[t]++ : outside++;
  return { total: live.length, perLayer, outside };
}

/** Bytes by what they are: weights, tables (constants), activations, KV caches, inputs and outputs. */
export interface ByKind {
  weights: number;
  tables: number;
  activations: number;
  kvCache: number;
  io: number;
}

export interface BytesMoved {
  read: ByKind;
  written: ByKind;
  total: number;
  /** bindings counted at their buffer's allocation because their value's size was unknown */
  unresolved: number;
}

const zero = (): ByKind => ({ weights: 0, tables: 0, activations: 0, kvCache: 0, io: 0 });
const sum = (k: ByKind) => k.weights + k.tables + k.activations + k.kvCache + k.io;

function kindOf(b: PlanBuffer): keyof ByKind {
  return b.role === 'weight' ? 'weights' : b.role === 'constant' || b.role === 'table' ? 'tables' : b.role === 'activation' ? 'activations' : 'io';
}

function elements(shape: readonly (number | string)[], dims: ReadonlyMap<string, number>): number {
  return shape.reduce<number>((a, d) => a * evalDimText(d, dims), 1);
}

/**
 * Global-memory bytes the run's dispatches bind, read and written (README: "bytes moved"):
 * - a KV cache binding [B, H, capacity, D]: P + S rows when read (attention), S rows when written;
 * - a table gathered by an index input bound in the same dispatch (ids -> wte, pos -> wpe): one
 *   row per index, counted once whatever chunks the table is split into;
 * - a buffer with a shape in the plan: that shape at the run's sizes (a chunk: its rows of it);
 * - a buffer several values share: the value last written to it in this run, whose size comes
 *   from `writtenElements` (else its allocation, counted in `unresolved`).
 * Whether a binding is written comes from its WGSL declaration (read_write).
 */
export function bytesMoved(artifact: WebGpuArtifact, shape: RunShape, writtenElements?: (dispatch: number, dims: ReadonlyMap<string, number>) => number | undefined): BytesMoved {
  const plan = artifact.plan;
  const dims = planDims(plan, shape);
  const access = writtenBindings(artifact);
  const buffers = new Map(plan.buffers.map((b) => [b.id, b]));
  const read = zero();
  const written = zero();
  const holding = new Map<number, number>();
  let unresolved = 0;
  for (const i of liveDispatches(plan, dims)) {
    const d = plan.dispatches[i];
    const indexInputs = plan.inputs.filter((x) => x.indexes && d.bindings.some((b) => b.buffer === x.buffer));
    const gathered = new Set<number>();
    d.bindings.forEach((b, j) => {
      const buf = buffers.get(b.buffer);
      if (!buf) throw new Error(`plan-stats: dispatch ${d.label} binds buffer ${b.buffer}, which the plan does not have`);
      const isWritten = access[d.kernel][j] ?? false;
      const per = dtypeBytes(buf.dtype);
      let kind = kindOf(buf);
      let bytes: number;
      const index = indexInputs.find((x) => x.indexes!.table === buf.checkpoint);
      if (b.kvCache !== undefined) {
        const c = plan.decoding!.caches[b.kvCache];
        const [, heads, , headDim] = c.shape.map((x) => evalDimText(x, dims));
        const rows = isWritten ? shape.seq : shape.past + shape.seq;
        bytes = shape.batch * heads * rows * headDim * per;
        kind = 'kvCache';
        holding.set(buf.id, shape.batch * heads * (shape.past + shape.seq) * headDim * per);
      } else if (index && !isWritten) {
        const rowBytes = (buf.shape ? elements(buf.shape.slice(1), dims) : 0) * per;
        bytes = gathered.has(buf.id) ? 0 : elements(index.shape, dims) * rowBytes;
        gathered.add(buf.id);
      } else if (buf.shape) {
        const all = elements(buf.shape, dims);
        const c = buf.chunking;
        if (c && b.chunk !== undefined) {
          const rows = Math.min(Math.max(all / c.rowElements - b.chunk * c.rowsPerChunk, 0), c.rowsPerChunk);
          bytes = rows * c.rowElements * per;
        } else bytes = all * per;
      } else if (isWritten) {
        // A value larger than its buffer means the size came from the wrong value: don't use it.
        const n = writtenElements?.(i, dims);
        const known = n !== undefined && n * per <= buf.bytes;
        if (!known) unresolved++;
        bytes = known ? n * per : buf.bytes;
        holding.set(buf.id, bytes);
      } else {
        const held = holding.get(buf.id);
        if (held === undefined) unresolved++;
        bytes = held ?? buf.bytes;
      }
      (isWritten ? written : read)[kind] += bytes;
    });
  }
  return { read, written, total: sum(read) + sum(written), unresolved };
}

export interface PlannedMemory {
  weights: number;
  /** constant tables uploaded with the plan (folded frequencies, cos/sin) */
  tables: number;
  /** activations, inputs and outputs, allocated once at their largest sizes (forward KV caches among them) */
  activations: number;
  /** one uniform block per dispatch */
  uniforms: number;
  /** a decoder's own KV caches, for `batch` sequences */
  kvCache: number;
  /** what a model holds to run forward passes */
  forward: number;
  /** ... plus one decoder */
  decoding: number;
}

/** The bytes a plan allocates, by role (allocations are made once, at load, and never freed while it runs). */
export function plannedMemory(plan: WebGpuPlan, batch = 1): PlannedMemory {
  const by = (roles: string[]) => plan.buffers.filter((b) => roles.includes(b.role)).reduce((n, b) => n + b.bytes, 0);
  const weights = by(['weight']);
  const tables = by(['constant', 'table']);
  const activations = by(['activation', 'input', 'output']);
  const uniforms = Math.max(plan.dispatches.length * plan.uniformStride, 16);
  const kvCache = (plan.decoding?.caches ?? []).reduce((n, c) => n + Math.max(16, Math.ceil((batch * c.bytesPerBatchRow) / 16) * 16), 0);
  const forward = weights + tables + activations + uniforms;
  return { weights, tables, activations, uniforms, kvCache, forward, decoding: forward + kvCache };
}
