// The scheduler: walks the graph in order, turning each node into a lazy value (its lowering's
// expression or view) or a kernel, and decides what is realised into a buffer:
//   - results of kernel ops (matmul, attention, normalisations) and of fused regions;
//   - expressions read by more than one node, and graph outputs (at -O0: every expression);
//   - operands a kernel needs as buffers (matmul's A and B);
//   - the new keys/values of a cache_append, written in place into the cache at offset P
//     (the present cache is then a view of the cache: no copy of the past).
// Which ops share a kernel is decided before, in the IR (src/passes/fuse.ts); a region is
// rendered by its rule's kernel (regions.ts) or, when the backend has none for its body, op by
// op. What stays here is memory: where each value lives, including the choice to let a
// region store its keys and values straight into the cache, and attention's output in the
// layout its transpose reads contiguously, so the merged heads feed c_proj's vec4 kernel.

import { attrsOf } from '../../src/ir/registry.ts';
import { nodeMap, type Graph, type Node, type Region } from '../../src/ir/graph.ts';
import { type Dim, dimEq, dimMul, isConcrete } from '../../src/ir/dims.ts';
import { normaliseAxis } from '../../src/ir/reference.ts';
import { isFusionRuleName, type FusionRuleName } from '../../src/passes/fusion-rules.ts';
import { usersOf } from '../../src/passes/rewrite.ts';
import { KernelWriter, type DispatchDraft } from './kernel-writer.ts';
import { elementwiseKernel, type KernelChoices, type KernelLowering, type KernelOutput, type LazyLowering, type LowerCtx } from './lowering.ts';
import { WGSL_LOWERINGS } from './lowerings.ts';
import { epilogueBody, epilogueFunction, qkvBody, qkvStore, type EpilogueBody } from './regions.ts';
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
  /** the first `prepare` dispatches depend on no input: the runtime runs them once, at load */
  prepare: number;
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
  /** -O0: realise every expression, so each op is a kernel of its own */
  kernelPerOp?: boolean;
  /** parameters change between runs (training): nothing computed from them is a load-time table */
  weightsChange?: boolean;
}

/** The values of one graph or region body being scheduled, and who reads them there. */
interface Scope {
  values: Map<number, Value>;
  users: Map<number, Node[]>;
}

const PLACED_APART = new WeakSet<Value>();
/** Expressions that cost a load wherever they are read (LazyLowering.asCheapAsALoad). */
const AS_CHEAP_AS_A_LOAD = new WeakSet<Value>();

/** maxStorageBuffersPerShaderStage's default: what every WebGPU device allows. */
const PORTABLE_STORAGE_BUFFERS = 8;

/** A value no kernel may read (and none realises): a region result stored in parts, a cache input. */
function placedApart(n: Node): Value {
  const v = exprValue(n.type.dtype, n.type.shape, () => {
    throw new Error(`internal: %${n.id} was stored in parts; it is read only through them`);
  });
  PLACED_APART.add(v);
  return v;
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
  /** what each lazy value reads (readsOf) */
  private readonly reads = new WeakMap<Value, ReadonlySet<number>>();

  /** nodes that read no graph input, directly or not, and have fixed sizes: computable once the weights are there */
  private readonly loadTime = new Set<number>();

  constructor(readonly g: Graph, readonly opts: ScheduleOptions) {
    this.symbols = g.symbols;
    // (a symbolic size is bound per run, so an iota of length S is no more load-time than an input)
    const variable = (n: Node) => n.op === 'input' || (opts.weightsChange === true && n.op === 'param');
    for (const n of g.nodes) if (!variable(n) && n.type.shape.every(isConcrete) && n.inputs.every((i) => this.loadTime.has(i))) this.loadTime.add(n.id);
    this.users = usersOf(g);
    this.byId = nodeMap(g);
    for (const o of g.outputs) if (!parsePresent(o.name)) this.outputNames.set(o.id, o.name);
    this.buffers = new BufferPlanner(opts.bounds, opts.maxBindingBytes, opts.levers);
  }

  writer(op: string): KernelWriter {
    return new KernelWriter(op, this.symbols);
  }

  param(n: Node): LogicalBuffer {
    const name = attrsOf(n, 'param').name;
    return this.source(n, () => this.buffers.create({ dtype: n.type.dtype, role: 'weight', shape: n.type.shape, label: name, checkpoint: name }));
  }

  constant(n: Node): LogicalBuffer {
    const a = attrsOf(n, 'const');
    return this.source(n, () => this.buffers.create({ dtype: n.type.dtype, role: 'constant', shape: n.type.shape, label: n.hint ?? `constant %${n.id}`, constant: { dtype: n.type.dtype, data: 'data' in a ? a.data : [a.value] } }));
  }

  input(n: Node): LogicalBuffer {
    return this.source(n, () => {
      const name = attrsOf(n, 'input').name;
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

  private source(n: Node, make: () => LogicalBuffer): LogicalBuffer {
    let b = this.sources.get(n.id);
    if (!b) this.sources.set(n.id, (b = make()));
    return b;
  }

  private label(n: Node, extra = ''): string {
    const rule = n.op === 'fused' ? ` ${String(n.attrs.rule)}` : '';
    return safeText(`%${n.id} ${n.op}${rule}${n.hint ? ` ${n.hint}` : ''}${extra ? ` ${extra}` : ''}`);
  }

  private push(drafts: DispatchDraft[], n: Node): void {
    for (const d of drafts) this.dispatches.push({ ...d, label: this.label(n, d.label) });
  }

  /** A value computed at load that runs read: it keeps a buffer of its own for the model's life. */
  private isTable(n: Node): boolean {
    return this.loadTime.has(n.id) && (this.users.get(n.id) ?? []).some((u) => !this.loadTime.has(u.id));
  }

  /** A fresh buffer for node `n`'s value: its graph output buffer, a table, or an activation. */
  private resultBuffer(n: Node, shape: readonly Dim[]): LogicalBuffer {
    const output = this.outputNames.get(n.id);
    const role = output ? 'output' : this.isTable(n) ? 'table' : 'activation';
    const buffer = this.buffers.create({ dtype: n.type.dtype, role, shape, label: this.label(n) });
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

  private mustRealise(n: Node, v: Value, scope: Scope): boolean {
    if (this.outputNames.has(n.id)) return !(v.view && v.view.buffer.role === 'output' && isContiguous(v.view, v.shape));
    if (v.view || v.literal !== undefined || PLACED_APART.has(v)) return false;
    // A table (cos(iota * freq)) is computed once, at load, not wherever a run reads it.
    if (scope.values === this.values && this.isTable(n)) return true;
    if (this.opts.kernelPerOp === true) return true;
    return (scope.users.get(n.id) ?? []).length > 1 && !AS_CHEAP_AS_A_LOAD.has(v) && this.soleReader(n, scope) === undefined;
  }

  /**
   * The lazy node every reader of `n` leads to through lazy nodes read once each (cos(x) and
   * sin(x) both stacked by one concat), if there is one: `n` is then part of that expression
   * alone, evaluated where the expression is, and realising it would cost a kernel for nothing.
   * (Readers meeting in a kernel are not enough: it may read them at many more indices than
   * `n` has elements.)
   */
  private soleReader(n: Node, scope: Scope): number | undefined {
    const lazy = (x: Node) => WGSL_LOWERINGS[x.op].kind === 'lazy';
    /** the lazy node, or the first other one, that a chain of single readers from `x` ends at */
    const chainEnd = (x: Node): Node => {
      const next = scope.users.get(x.id) ?? [];
      return lazy(x) && next.length === 1 && !this.outputNames.has(x.id) ? chainEnd(next[0]) : x;
    };
    let end: number | undefined;
    for (const u of scope.users.get(n.id) ?? []) {
      const at = chainEnd(u);
      if (!lazy(at) || (end !== undefined && end !== at.id)) return undefined;
      end = at.id;
    }
    return end;
  }

  /** The buffers an expression reads (a kernel evaluating it binds them all). */
  private readsOf(v: Value): ReadonlySet<number> {
    return v.view ? new Set([v.view.buffer.id]) : (this.reads.get(v) ?? new Set());
  }

  /**
   * An expression of many buffers (the global gradient norm: a sum of one scalar per
   * parameter) would make a kernel bind more storage buffers than every device allows: its
   * widest operands are realised first (in `inputs`, in place) until it reads few enough, one
   * binding left for the output. Returns what it then reads.
   */
  private withinBindingLimit(n: Node, inputs: Value[], scope: Scope): ReadonlySet<number> {
    const union = () => new Set(inputs.flatMap((x) => [...this.readsOf(x)]));
    let all = union();
    while (all.size > PORTABLE_STORAGE_BUFFERS - 1) {
      let widest = -1;
      inputs.forEach((x, i) => {
        if (!x.view && this.readsOf(x).size > 1 && (widest < 0 || this.readsOf(x).size > this.readsOf(inputs[widest]).size)) widest = i;
      });
      const owner = widest >= 0 ? this.byId.get(n.inputs[widest]) : undefined;
      if (!owner) break;
      inputs[widest] = this.realise(owner, inputs[widest]);
      scope.values.set(owner.id, inputs[widest]);
      all = union();
    }
    return all;
  }

  /** Attention stores its result in the layout of its only reader, a transpose. */
  private layoutFor(n: Node): readonly number[] | undefined {
    const users = this.users.get(n.id) ?? [];
    if (users.length !== 1 || users[0].op !== 'transpose' || this.outputNames.has(n.id)) return undefined;
    return users[0].attrs.perm as readonly number[];
  }

  /**
   * Runs kernel op `n` on `inputs` (realising those it needs as buffers; `owners` are their
   * nodes, for the realisation's label and to keep it) and stores the result of `root` (n
   * itself, or the region n is the kernel of) through `out`, or a fresh buffer.
   */
  private kernel(n: Node, low: KernelLowering, root: Node, inputs: Value[], owners: readonly (Node | undefined)[], scope: Scope, out?: Partial<KernelOutput>, normalisedA?: () => Value): Value {
    if ((out?.epilogue && !low.epilogue) || (out?.store && !low.pairStore)) throw new Error(`internal: the ${n.op} kernel takes no ${out.store ? 'pair store' : 'epilogue'}`);
    const unitLast = low.needsUnitLastStride?.(inputs) ?? [];
    const operands = inputs.map((v, i) => {
      const strided = unitLast.includes(i) && v.view && v.shape.length > 0 && !dimEq(v.view.strides[v.shape.length - 1], 1);
      if (!low.needsViews?.includes(i) || (v.view && !strided)) return v;
      const owner = owners[i] ?? n;
      const realised = this.realise(owner, v);
      if (owners[i]) scope.values.set(owner.id, realised);
      return realised;
    });
    const shape = root.type.shape;
    let view = out?.view;
    if (!view) {
      const perm = low.anyOutputLayout ? this.layoutFor(root) : undefined;
      const stored = perm ? perm.map((p) => shape[p]) : shape;
      const buffer = this.resultBuffer(root, stored);
      view = perm ? { buffer, offset: 0, strides: permuted(rowMajorStrides(stored), perm) } : contiguousView(buffer, shape);
    }
    let drafts = low.kernel(n, operands, { ...out, view }, this);
    // A fused LayerNorm adds two bindings; past what every device allows, the norm runs apart.
    if (out?.normaliseA && normalisedA && drafts.some((d) => d.bindings.length > PORTABLE_STORAGE_BUFFERS)) {
      operands[0] = normalisedA();
      drafts = low.kernel(n, operands, { ...out, view, normaliseA: undefined }, this);
    }
    this.push(drafts, root);
    return viewValue(root.type.dtype, shape, view);
  }

  /** Where cache_append `n` writes: its cache buffer (registered for the plan) and the view at offset P. */
  private placeCache(n: Node): { at: View; present: Value } {
    const { axis: rawAxis, layer, kind } = attrsOf(n, 'cache_append');
    const axis = normaliseAxis(rawAxis, n.type.shape.length);
    const past = this.byId.get(n.inputs[0])!;
    const shape = n.type.shape.map((d, i) => (i === axis ? this.opts.cacheCapacity : d));
    // An activation for forward runs (their caches live only within a layer); decoders bind their own.
    const buffer = this.buffers.create({ dtype: n.type.dtype, role: 'activation', shape, label: `KV cache layer ${layer} ${kind}` });
    const strides = rowMajorStrides(shape);
    this.caches.push({ layer, kind, buffer, shape });
    return { at: { buffer, offset: dimMul(past.type.shape[axis], strides[axis]), strides }, present: viewValue(n.type.dtype, n.type.shape, { buffer, offset: 0, strides }) };
  }

  /** Schedules `n` in `scope`: its value, a kernel, or nothing (a value a region already placed). */
  private schedule(n: Node, scope: Scope): void {
    if (scope.values.has(n.id)) return;
    if (n.op === 'input' && parsePast(String(n.attrs.name))) {
      if ((scope.users.get(n.id) ?? []).some((u) => u.op !== 'cache_append' || u.inputs[0] !== n.id))
        throw new Error(`WebGPU backend: '${safeText(String(n.attrs.name))}' may only be read by the cache_append that extends it`);
      scope.values.set(n.id, placedApart(n)); // read only where it is bound: as the cache
      return;
    }
    const low = WGSL_LOWERINGS[n.op];
    const inputs = n.inputs.map((i) => scope.values.get(i)!);
    let v: Value;
    if (n.op === 'cache_append') {
      const { at, present } = this.placeCache(n);
      this.push((low as KernelLowering).kernel(n, inputs, { view: at }, this), n);
      v = present;
    } else if (low.kind === 'lazy') {
      const reads = this.withinBindingLimit(n, inputs, scope);
      v = memoised(n, low.value(n, inputs, this));
      this.reads.set(v, reads);
      if (low.asCheapAsALoad?.(inputs)) AS_CHEAP_AS_A_LOAD.add(v);
    } else if (low.kind === 'region') v = this.region(n, inputs, scope);
    else v = this.kernel(n, low, n, inputs, n.inputs.map((i) => this.byId.get(i)), scope);
    if (this.mustRealise(n, v, scope)) v = this.realise(n, v);
    // An output that is a plain view of another output's buffer (a reshape of it) shares it.
    if (this.outputNames.has(n.id)) this.addOutput(n, v.view!.buffer);
    scope.values.set(n.id, v);
  }

  /** A fused node: by its rule's kernel when the body has the form it expects, else op by op. */
  private region(n: Node, inputs: Value[], scope: Scope): Value {
    const { rule, body } = attrsOf(n, 'fused');
    const local: Scope = { values: new Map(body.args.map((a, i) => [a.id, inputs[i]])), users: usersOf({ ...this.g, nodes: body.nodes }) };
    const owners = new Map(body.args.map((a, i) => [a.id, this.byId.get(n.inputs[i])]));
    const kernels: Record<FusionRuleName, () => Value | undefined> = {
      'matmul-epilogue': () => this.matmulEpilogue(n, body, local, owners),
      'norm-matmul': () => this.matmulEpilogue(n, body, local, owners),
      'qkv-heads': () => this.qkvHeads(n, body, local, owners, scope),
    };
    const v = isFusionRuleName(rule) && !this.opts.kernelPerOp ? kernels[rule]() : undefined;
    if (v) return v;
    // Op by op; the body's result is the fused node's, so an output is stored where it belongs.
    const output = this.outputNames.get(n.id);
    if (output !== undefined) this.outputNames.set(body.output, output);
    for (const b of body.nodes) this.schedule(b, local);
    return local.values.get(body.output)!;
  }

  /** The lazy values of `nodes` in `local`, the matmul's result being the kernel's accumulator. */
  private epilogueValues(matmul: Node, nodes: readonly Node[], local: Scope): void {
    local.values.set(matmul.id, exprValue(matmul.type.dtype, matmul.type.shape, () => 'acc'));
    for (const x of nodes) local.values.set(x.id, memoised(x, (WGSL_LOWERINGS[x.op] as LazyLowering).value(x, x.inputs.map((i) => local.values.get(i)!), this)));
  }

  private matmulEpilogue(n: Node, body: Region, local: Scope, owners: Map<number, Node | undefined>): Value | undefined {
    const form = epilogueBody(body);
    if (!form || !form.rest.every((x) => WGSL_LOWERINGS[x.op].kind === 'lazy') || !this.prologueFits(form, local)) return undefined;
    const { operands, operandOwners, normaliseA } = this.matmulOperands(form, local, owners);
    this.epilogueValues(form.matmul, form.rest, local);
    const epilogue = form.rest.length ? { epilogue: epilogueFunction(n.type.shape, local.values.get(body.output)!) } : {};
    return this.kernel(form.matmul, WGSL_LOWERINGS.matmul as KernelLowering, n, operands, operandOwners, local, { ...epilogue, ...normaliseA }, this.normApart(form, local));
  }

  /**
   * A LayerNorm prologue reads A where it lives; only a contiguous A keeps the matmul's rows
   * folded into one axis (vec4 blocks, chunked B^T). The lm_head's A, the last R positions of
   * the residual stream, is strided: that region runs op by op, its LayerNorm writing rows the
   * matmul reads whole.
   */
  private prologueFits(form: Pick<EpilogueBody, 'prologue'>, local: Scope): boolean {
    if (!form.prologue) return true;
    const a = local.values.get(form.prologue.inputs[0])!;
    return a.view !== undefined && isContiguous(a.view, a.shape);
  }

  /** The prologue's LayerNorm as a kernel of its own, for when the fused kernel binds too much. */
  private normApart(form: Pick<EpilogueBody, 'prologue'>, local: Scope): (() => Value) | undefined {
    const p = form.prologue;
    if (!p) return undefined;
    return () => {
      this.schedule(p, local);
      return local.values.get(p.id)!;
    };
  }

  /** A region's matmul operands: A is the LayerNorm's input when the region has the norm as prologue. */
  private matmulOperands(form: Pick<EpilogueBody, 'prologue' | 'matmul'>, local: Scope, owners: Map<number, Node | undefined>) {
    const p = form.prologue;
    const ids = p ? [p.inputs[0], form.matmul.inputs[1]] : form.matmul.inputs;
    const operands = ids.map((i) => local.values.get(i)!);
    const operandOwners = ids.map((i) => owners.get(i));
    if (!p) return { operands, operandOwners, normaliseA: {} };
    const [weight, bias] = p.inputs.slice(1).map((i) => local.values.get(i)!);
    return { operands, operandOwners, normaliseA: { normaliseA: { weight, bias, eps: attrsOf(p, 'layer_norm').eps } } };
  }

  /**
   * q, k and v in one matmul: each part stored head-major, k and v straight into the KV cache
   * when a cache_append is their only reader (that append then costs no dispatch).
   */
  private qkvHeads(n: Node, body: Region, local: Scope, owners: Map<number, Node | undefined>, scope: Scope): Value | undefined {
    const form = qkvBody(body);
    if (!form || !form.epilogue.every((x) => WGSL_LOWERINGS[x.op].kind === 'lazy') || !this.prologueFits(form, local)) return undefined;
    // The graph reads part t as reshape(slice(n, axis 0, t..t+1)): find each part's reader.
    const readers = form.parts.map((_, t) => {
      const slice = (scope.users.get(n.id) ?? []).find((u) => u.op === 'slice' && attrsOf(u, 'slice').axis === 0 && attrsOf(u, 'slice').start === t);
      const users = slice ? scope.users.get(slice.id) ?? [] : [];
      return slice && users.length === 1 && users[0].op === 'reshape' && !this.outputNames.has(users[0].id) ? { slice, part: users[0] } : undefined;
    });
    if (readers.some((r) => !r) || (scope.users.get(n.id) ?? []).length !== form.parts.length) return undefined;
    const dests = readers.map((r) => {
      const partUsers = scope.users.get(r!.part.id) ?? [];
      const append = partUsers.length === 1 && partUsers[0].op === 'cache_append' && partUsers[0].inputs[1] === r!.part.id ? partUsers[0] : undefined;
      if (append) {
        const { at, present } = this.placeCache(append);
        scope.values.set(append.id, present);
        scope.values.set(r!.part.id, viewValue(r!.part.type.dtype, r!.part.type.shape, at));
        return at;
      }
      const view = contiguousView(this.resultBuffer(r!.part, r!.part.type.shape), r!.part.type.shape);
      scope.values.set(r!.part.id, viewValue(r!.part.type.dtype, r!.part.type.shape, view));
      return view;
    });
    for (const r of readers) scope.values.set(r!.slice.id, placedApart(r!.slice));
    const { operands, operandOwners, normaliseA } = this.matmulOperands(form, local, owners);
    this.epilogueValues(form.matmul, form.epilogue, local);
    const epilogue = epilogueFunction(form.x.type.shape, local.values.get(form.x.id)!);
    const [cos, sin] = form.rope ? [local.values.get(form.rope.cos)!, local.values.get(form.rope.sin)!] : [];
    const store = qkvStore(form, epilogue, dests, cos, sin);
    this.kernel(form.matmul, WGSL_LOWERINGS.matmul as KernelLowering, n, operands, operandOwners, local, { view: dests[0], store, ...normaliseA }, this.normApart(form, local));
    return placedApart(n);
  }

  run(): Schedule {
    const scope: Scope = { values: this.values, users: this.users };
    // What reads no input first: its dispatches are the plan's prepare phase, run once at load.
    for (const n of this.g.nodes) if (this.loadTime.has(n.id)) this.schedule(n, scope);
    const prepare = this.dispatches.length;
    for (const n of this.g.nodes) if (!this.loadTime.has(n.id)) this.schedule(n, scope);
    return { symbols: this.symbols, buffers: this.buffers.all, dispatches: this.dispatches, inputs: this.inputs, outputs: this.outputs, caches: this.caches, prepare };
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

export function scheduleGraph(g: Graph, opts: ScheduleOptions): Schedule {
  return new Scheduler(g, opts).run();
}
