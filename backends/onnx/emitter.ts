// The ONNX emitter: what an op's lowering (backends/onnx/ops/<family>.ts) may call. It names
// values, interns small int64 constants, turns (symbolic) IR dims into run-time int64
// tensors, and collects nodes and initializers for the renderer.

import type { onnx } from 'onnx-proto';
import type { Node } from '../../src/ir/graph.ts';
import type { TensorType } from '../../src/ir/types.ts';
import { type Dim, dimToString, isConcrete } from '../../src/ir/dims.ts';
import { DTYPES } from '../../src/ir/dtypes.ts';

/**
 * ONNX TensorProto.DataType codes of the element types rhc emits: the IR's (their code in the
 * dtype table) and the ONNX-only ones shapes and masks need.
 */
export const ELEM = { f32: DTYPES.f32.onnx, i32: DTYPES.i32.onnx, i64: 7, bool: 9 } as const satisfies { readonly [D in keyof typeof DTYPES]: number } & Record<string, number>;
export type OnnxDType = keyof typeof ELEM;

export type OnnxAttr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly string: string };
export const int = (v: number | boolean): OnnxAttr => ({ int: Number(v) });
export const float = (v: number): OnnxAttr => ({ float: v });
export const ints = (v: readonly number[]): OnnxAttr => ({ ints: v });

/** The interface lowerings see. */
export interface OnnxLowerCtx {
  readonly opset: number;
  /** Emits one single-output node and returns its output's name. */
  op(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttr>>): string;
  /** An initializer holding the given values (f32 data may be any array of numbers). */
  constant(dtype: OnnxDType, shape: readonly number[], data: ArrayLike<number>, hint?: string): string;
  /** A 1-D int64 constant (axes, starts, shapes), shared between uses. */
  i64(values: readonly number[]): string;
  /** int64 [dims.length]: the dims' values at run time (symbolic ones from the inputs' shapes). */
  shape(dims: readonly Dim[]): string;
  /** An int64 scalar holding `d` at run time. */
  dimScalar(d: Dim): string;
  /** The value of the IR graph input `name`, as the renderer bound it at the boundary. */
  input(name: string): string;
  /** The initializer of parameter `name` (its weights come from the caller). */
  param(name: string, type: TensorType): string;
  /** Builds a value once per export under `key` (e.g. the causal mask every layer shares). */
  memo(key: string, build: () => string): string;
}

/**
 * One op's lowering: gets the IR node, its inputs' ONNX value names and IR types, and returns
 * the name of the value that stands for the node's result.
 */
export type OnnxLowering = (ctx: OnnxLowerCtx, node: Node, inputs: readonly string[], types: readonly TensorType[]) => string;

function attrProto(name: string, a: OnnxAttr): onnx.IAttributeProto {
  if ('int' in a) return { name, type: 2, i: a.int };
  if ('float' in a) return { name, type: 1, f: a.float };
  if ('ints' in a) return { name, type: 7, ints: [...a.ints] };
  return { name, type: 3, s: new TextEncoder().encode(a.string) };
}

/** Little-endian raw bytes of the values as the given ONNX element type. */
export function rawBytes(dtype: OnnxDType, data: ArrayLike<number>): Uint8Array {
  if (dtype === 'f32') {
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  }
  if (dtype === 'i64') {
    const b = BigInt64Array.from(Array.from(data, (v) => BigInt(v)));
    return new Uint8Array(b.buffer);
  }
  if (dtype === 'i32') return new Uint8Array(Int32Array.from(data).buffer);
  return Uint8Array.from(data, (v) => (v ? 1 : 0));
}

export class OnnxEmitter implements OnnxLowerCtx {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly interned = new Map<string, string>();
  private readonly symbols = new Map<string, string>();
  private readonly inputs = new Map<string, string>();
  private readonly params = new Map<string, string>();

  constructor(
    readonly opset: number,
    private readonly weights: (name: string, type: TensorType) => Float32Array,
  ) {}

  /** A fresh value name based on `base`. */
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'v';
    let name = clean;
    for (let i = 1; this.names.has(name); i++) name = `${clean}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Reserves a name that must appear verbatim (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`internal: ONNX name '${name}' used twice`);
    this.names.add(name);
    return name;
  }

  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, OnnxAttr>> = {}): string {
    return this.opTo(this.fresh(opType), opType, inputs, attrs);
  }

  /** Like `op`, writing into a given (reserved) output name. */
  opTo(output: string, opType: string, inputs: readonly string[], attrs: Readonly<Record<string, OnnxAttr>> = {}): string {
    const attribute = Object.entries(attrs).map(([k, v]) => attrProto(k, v));
    this.nodes.push({ opType, input: [...inputs], output: [output], name: output, ...(attribute.length ? { attribute } : {}) });
    return output;
  }

  constant(dtype: OnnxDType, shape: readonly number[], data: ArrayLike<number>, hint = 'const'): string {
    return this.initializer(this.fresh(hint), dtype, shape, rawBytes(dtype, data));
  }

  initializer(name: string, dtype: OnnxDType, shape: readonly number[], raw: Uint8Array): string {
    this.initializers.push({ name, dataType: ELEM[dtype], dims: [...shape], rawData: raw });
    return name;
  }

  i64(values: readonly number[]): string {
    const key = `i64[${values.join(',')}]`;
    let name = this.interned.get(key);
    if (!name) this.interned.set(key, (name = this.constant('i64', [values.length], values, 'i64')));
    return name;
  }

  bindSymbol(symbol: string, value: string): void {
    if (!this.symbols.has(symbol)) this.symbols.set(symbol, value);
  }

  hasSymbol(symbol: string): boolean {
    return this.symbols.has(symbol);
  }

  bindInput(irName: string, value: string): void {
    this.inputs.set(irName, value);
  }

  /** int64 [1] holding `d`: sums of products of bound symbols (B*S + P, ...). */
  private dim1(d: Dim): string {
    if (isConcrete(d)) return this.i64([d]);
    const key = `dim(${dimToString(d)})`;
    const cached = this.interned.get(key);
    if (cached) return cached;
    let total: string | undefined;
    for (const [monomial, coeff] of d.terms) {
      let term: string | undefined = monomial === '' || coeff !== 1 ? this.i64([coeff]) : undefined;
      for (const s of monomial ? monomial.split('*') : []) {
        const v = this.symbols.get(s);
        if (!v) throw new Error(`internal: ONNX export has no run-time value for dimension '${s}'`);
        term = term ? this.op('Mul', [term, v]) : v;
      }
      total = total ? this.op('Add', [total, term!]) : term!;
    }
    this.interned.set(key, total!);
    return total!;
  }

  shape(dims: readonly Dim[]): string {
    if (dims.every(isConcrete)) return this.i64(dims as number[]);
    const key = `shape(${dims.map(dimToString).join(',')})`;
    let name = this.interned.get(key);
    if (!name) this.interned.set(key, (name = this.op('Concat', dims.map((d) => this.dim1(d)), { axis: int(0) })));
    return name;
  }

  dimScalar(d: Dim): string {
    const key = `scalar(${dimToString(d)})`;
    let name = this.interned.get(key);
    if (!name) {
      name = isConcrete(d) ? this.constant('i64', [], [d], 'dim') : this.op('Squeeze', [this.dim1(d), this.i64([0])]);
      this.interned.set(key, name);
    }
    return name;
  }

  memo(key: string, build: () => string): string {
    let name = this.interned.get(`memo:${key}`);
    if (!name) this.interned.set(`memo:${key}`, (name = build()));
    return name;
  }

  input(name: string): string {
    const v = this.inputs.get(name);
    if (!v) throw new Error(`internal: ONNX export has no boundary value for input '${name}'`);
    return v;
  }

  param(name: string, type: TensorType): string {
    let v = this.params.get(name);
    if (!v) {
      const data = this.weights(name, type);
      v = this.initializer(this.reserve(name), 'f32', type.shape as number[], rawBytes('f32', data));
      this.params.set(name, v);
    }
    return v;
  }
}
