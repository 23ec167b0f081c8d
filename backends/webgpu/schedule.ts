// The scheduler: walks the graph in order, turning each node into a lazy value (its lowering's
// expression or view) or a kernel, and decides what is realised into a buffer:
//   - results of kernel ops (matmul with its fused epilogue, attention, normalisations);
//   - expressions read by more than one node, and graph outputs;
//   - operands a kernel needs as buffers (matmul's A and B);
//   - the new keys/values of a KV-cache concat, written in place into the cache at offset P
//     (the concat itself is then a view of the cache: no copy of the past).
// Attention writes its output in the layout its transpose reads contiguously, so the merged
// heads feed c_proj's vec4 kernel without a copy.

import { nodeMap, type Graph, type Node } from '../../src/ir/graph.ts';
import { type Dim, dimMul } from '../../src/ir/dims.ts';
import { normaliseAxis } from '../../src/ir/reference.ts';
import type { ConstAttrs, InputAttrs, ParamAttrs } from '../../src/ir/ops/sources.ts';
import { usersOf } from '../../src/passes/rewrite.ts';
import { KernelWriter, type DispatchDraft } from './kernel-writer.ts';
import { elementwiseKernel, type Epilogue, type KernelChoices, type KernelLowering, type LowerCtx } from './lowering.ts';
import { WGSL_LOWERINGS } from './lowerings.ts';
import { findEpilogues } from './fusion.ts';
import { BufferPlanner, maxValue, type SizeLevers } from './buffer-planner.ts';
import { contiguousView, exprValue, isContiguous, rowMajorStrides, viewValue, type LogicalBuffer, type Value, type View } from './values.ts';
import { safeText } from './wgsl.ts';
import { parsePast, parsePresent } from '../../src/ir/calling-convention.ts';

export interface ScheduledIO {
  name: string;
  dtype: 'f32' | 'i32';
  shape: readonly Dim[];
  buffer: LogicalBuffer;
  indexes?: { rows: number; table: string };
}

export interface ScheduledCache {
  layer: number;
  kind: 'key' | 'value';
  buffer: LogicalBuffer;
  /** the cache's shape: the concat's, with the sequence axis at capacity */
  shape: readonly Dim[];
}

export interface Schedule {
  symbols: readonly string[];
  buffers: LogicalBuffer[];
  dispatches: DispatchDraft[];
  inputs: ScheduledIO[];
  outputs: ScheduledIO[];
  caches: ScheduledCache[];
}

export interface ScheduleOptions {
  /** the largest value of each symbol (buffers are sized for it) */
  bounds: ReadonlyMap<string, number>;
  maxBindingBytes: number;
  /** positions a KV cache holds */
  cacheCapacity: number;
  /** for the error when a buffer is too large: what sets its dims */
  levers?: SizeLevers;
  choices?: KernelChoices;
}

class Scheduler implements LowerCtx {
  readonly symbols: readonly string[];
  readonly dispatches: DispatchDraft[] = [];
  readonly inputs: ScheduledIO[] = [];
  readonly outputs: ScheduledIO[] = [];
  readonly caches: ScheduledCache[] = [];
  private readonly values = new Map<number, Value>();
  private readonly sources = new Map<number, LogicalBuffer>();
  private readonly users: Map<number, Node[]>;
  private readonly byId: Map<number, Node>;
  private readonly outputNames = new Map<number, string>();
  private readonly buffers: BufferPlanner;

  constructor(readonly g: Graph, readonly opts: ScheduleOptions) {
    this.symbols = g.symbols;
    this.users = usersOf(g);
    this.byId = nodeMap(g);
    for (const o of g.outputs) if (!parsePresent(o.name)) this.outputNames.set(o.id, o.name);
    this.buffers = new BufferPlanner(opts.bounds, opts.maxBindingBytes, opts.levers);
  }

  writer(op: string): KernelWriter {
    return new KernelWriter(op, this.symbols);
  }

  param(n: Node): LogicalBuffer {
    const name = (n.attrs as unknown as ParamAttrs).name;
    return this.source(n, () => this.buffers.create({ dtype: n.type.dtype, role: 'weight', shape: n.type.shape, label: name, checkpoint: name }));
  }

  constant(n: Node): LogicalBuffer {
    const a = n.attrs as unknown as ConstAttrs & { data: readonly number[] };
    return this.source(n, () => this.buffers.create({ dtype: n.type.dtype, role: 'constant', shape: n.type.shape, label: n.hint ?? `constant %${n.id}`, constant: { dtype: n.type.dtype, data: a.data } }));
  }

  input(n: Node): LogicalBuffer {
    return this.source(n, () => {
      const name = (n.attrs as unknown as InputAttrs).name;
      const buffer = this.buffers.create({ dtype: n.type.dtype, role: 'input', shape: n.type.shape, label: name });
      // Ids that pick table rows are checked on the host (against the smallest table they index):
      // the kernels only clamp them.
      let indexes: ScheduledIO['indexes'];
      for (const u of this.users.get(n.id) ?? []) {
        const table = u.op === 'gather' && u.inputs[1] === n.id ? this.byId.get(u.inputs[0])! : undefined;
        const rows = table?.type.shape[0];
        if (typeof rows === 'number' && (!indexes || rows < indexes.rows))
          indexes = { rows, table: String(table!.attrs.name ?? table!.hint ?? `%${table!.id}`) };
      }
      this.inputs.push({ name, dtype: n.type.dtype, shape: n.type.shape, buffer, ...(indexes ? { indexes } : {}) });
      return buffer;
    });
  }

  get choices(): KernelChoices {
    return this.opts.choices ?? {};
  }

  scratch(label: string, shape: readonly Dim[]): LogicalBuffer | undefined {
    const bytes = shape.reduce<number>((a, d) => a * maxValue(d, this.opts.bounds), 4);
    if (bytes > this.opts.maxBindingBytes) return undefined;
    return this.buffers.create({ dtype: 'f32', role: 'activation', shape, label });
  }

  private source(n: Node, make: () => LogicalBuffer): LogicalBuffer {
    let b = this.sources.get(n.id);
    if (!b) this.sources.set(n.id, (b = make()));
    return b;
  }

  private label(n: Node, extra = ''): string {
    return safeText(`%${n.id} ${n.op}${n.hint ? ` ${n.hint}` : ''}${extra ? ` ${extra}` : ''}`);
  }

  private push(drafts: DispatchDraft[], n: Node): void {
    for (const d of drafts) this.dispatches.push({ ...d, label: this.label(n, d.label) });
  }

  /** A fresh buffer for node `n`'s value: its graph output buffer, or an activation. */
  private resultBuffer(n: Node, shape: readonly Dim[]): LogicalBuffer {
    const output = this.outputNames.get(n.id);
    const buffer = this.buffers.create({ dtype: n.type.dtype, role: output ? 'output' : 'activation', shape, label: this.label(n) });
    if (output) this.addOutput(n, buffer);
    return buffer;
  }

  private addOutput(n: Node, buffer: LogicalBuffer): void {
    const name = this.outputNames.get(n.id)!;
    if (!this.outputs.some((o) => o.name === name)) this.outputs.push({ name, dtype: n.type.dtype, shape: n.type.shape, buffer });
  }

  private realise(n: Node, v: Value): Value {
    const view = contiguousView(this.resultBuffer(n, v.shape), v.shape);
    this.push([elementwiseKernel(this, v, { view }, (k) => `store ${v.dtype}${k.shape(v.shape)}`)], n);
    return viewValue(v.dtype, v.shape, view);
  }

  private mustRealise(n: Node, v: Value): boolean {
    if (this.outputNames.has(n.id)) return !(v.view && v.view.buffer.role === 'output' && isContiguous(v.view, v.shape));
    if (v.view || v.literal !== undefined) return false;
    return (this.users.get(n.id) ?? []).length > 1;
  }

  /** Attention stores its result in the layout of its only reader, a transpose. */
  private layoutFor(n: Node): readonly number[] | undefined {
    const users = this.users.get(n.id) ?? [];
    if (users.length !== 1 || users[0].op !== 'transpose' || this.outputNames.has(n.id)) return undefined;
    return users[0].attrs.perm as readonly number[];
  }

  private kernel(n: Node, low: KernelLowering, root: Node, epilogueValue?: Value): Value {
    const inputs = n.inputs.map((id, i) => {
      const v = this.values.get(id)!;
      if (!low.needsViews?.includes(i) || v.view) return v;
      const realised = this.realise(this.byId.get(id)!, v);
      this.values.set(id, realised);
      return realised;
    });
    const shape = root.type.shape;
    const perm = low.anyOutputLayout ? this.layoutFor(root) : undefined;
    const stored = perm ? perm.map((p) => shape[p]) : shape;
    const buffer = this.resultBuffer(root, stored);
    const view: View = perm ? { buffer, offset: 0, strides: permuted(rowMajorStrides(stored), perm) } : contiguousView(buffer, shape);
    this.push(low.kernel(n, inputs, { view, epilogue: epilogueValue && epilogueFn(root, epilogueValue) }, this), root);
    return viewValue(root.type.dtype, shape, view);
  }

  /** concat(past_key_values.i.*, new) on the sequence axis: append `fresh` to the cache in place. */
  private appendToCache(n: Node, past: Node, fresh: Value): Value {
    const { layer, kind } = parsePast(String(past.attrs.name))!;
    const axis = normaliseAxis(n.attrs.axis as number, n.type.shape.length);
    const pastLength = past.type.shape[axis];
    const shape = n.type.shape.map((d, i) => (i === axis ? this.opts.cacheCapacity : d));
    // An activation for forward runs (their caches live only within a layer); decoders bind their own.
    const buffer = this.buffers.create({ dtype: n.type.dtype, role: 'activation', shape, label: `KV cache layer ${layer} ${kind}` });
    const strides = rowMajorStrides(shape);
    const at: View = { buffer, offset: dimMul(pastLength, strides[axis]), strides };
    this.push([elementwiseKernel(this, fresh, { view: at }, (k) => `append to a KV cache ${k.shape(fresh.shape)}`)], n);
    this.caches.push({ layer, kind, buffer, shape });
    return viewValue(n.type.dtype, n.type.shape, { buffer, offset: 0, strides });
  }

  run(): Schedule {
    const fused = findEpilogues(this.g);
    for (const n of this.g.nodes) {
      if (n.op === 'input' && parsePast(String(n.attrs.name))) {
        if ((this.users.get(n.id) ?? []).some((u) => u.op !== 'concat' || u.inputs[0] !== n.id))
          throw new Error(`WebGPU backend: '${safeText(String(n.attrs.name))}' may only be read by the concat that extends it`);
        continue;
      }
      const past = n.op === 'concat' && n.inputs.length === 2 ? this.byId.get(n.inputs[0])! : undefined;
      if (past && past.op === 'input' && parsePast(String(past.attrs.name))) {
        this.values.set(n.id, this.appendToCache(n, past, this.values.get(n.inputs[1])!));
        continue;
      }
      const low = WGSL_LOWERINGS[n.op];
      let v: Value;
      if (low.kind === 'lazy') v = memoised(n, low.value(n, n.inputs.map((i) => this.values.get(i)!), this));
      else if (fused.deferred.has(n.id)) v = exprValue(n.type.dtype, n.type.shape, () => 'acc'); // the epilogue's parameter
      else v = this.kernel(n, low, n);
      const mm = fused.matmulOf.get(n.id);
      if (mm !== undefined) v = this.kernel(this.byId.get(mm)!, WGSL_LOWERINGS.matmul as KernelLowering, n, v);
      else if (!fused.inside.has(n.id) && this.mustRealise(n, v)) v = this.realise(n, v);
      // An output that is a plain view of another output's buffer (a reshape of it) shares it.
      if (this.outputNames.has(n.id)) this.addOutput(n, v.view!.buffer);
      this.values.set(n.id, v);
    }
    return { symbols: this.symbols, buffers: this.buffers.all, dispatches: this.dispatches, inputs: this.inputs, outputs: this.outputs, caches: this.caches };
  }
}

/** Strides of the logical axes of a value stored transposed by `perm`. */
function permuted(storedStrides: readonly Dim[], perm: readonly number[]): Dim[] {
  const strides: Dim[] = new Array(perm.length);
  perm.forEach((p, i) => (strides[p] = storedStrides[i]));
  return strides;
}

/** An expression used at one index is computed once per kernel function. */
function memoised(n: Node, v: Value): Value {
  if (v.view || v.literal !== undefined) return v;
  return { ...v, emit: (k, at) => k.memo(`%${n.id} ${at.axes.join(',')}`, () => v.emit(k, at)) };
}

/** The epilogue as one WGSL function per kernel: `fn epilogue(acc, i0, ..., flat)`. */
function epilogueFn(root: Node, v: Value): Epilogue {
  const made = new WeakMap<KernelWriter, string>();
  const shape = root.type.shape;
  return (k, acc, at) => {
    let name = made.get(k);
    if (!name) {
      const params = [`acc: ${v.dtype}`, ...shape.map((_, i) => `i${i}: u32`), 'flat: u32'].join(', ');
      name = k.func('epilogue', params, v.dtype, () => v.emit(k, { axes: shape.map((_, i) => `i${i}`), flat: 'flat' }));
      made.set(k, name);
    }
    if (at.flat === undefined) throw new Error('internal: an epilogue needs the flat index');
    return `${name}(${acc}, ${[...at.axes, at.flat].join(', ')})`;
  };
}

export function scheduleGraph(g: Graph, opts: ScheduleOptions): Schedule {
  return new Scheduler(g, opts).run();
}
