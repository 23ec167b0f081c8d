// IR graph -> ONNX ModelProto. The graph boundary follows Hugging Face's exports:
//   input_ids  int64 [batch, sequence]          -> cast to the IR's i32 `ids`
//   (pos)      not an input: P .. P+S-1 computed in the graph, P the cached length
//              (axis 2 of past_key_values.0.key) or 0 without a cache
//   past_key_values.{i}.key/.value, present.{i}.key/.value, logits: as the IR names them.
// Symbolic dims become dim_params (B -> batch, S -> sequence, P -> past_sequence); their run-time
// values come from Shape of the inputs. Every op goes through its lowering in ONNX_LOWERINGS.

import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import type { Graph, Node } from '../../src/ir/graph.ts';
import type { TensorType } from '../../src/ir/types.ts';
import { type Dim, dimToString } from '../../src/ir/dims.ts';
import { RhcError } from '../../src/errors.ts';
import { ELEM, int, OnnxEmitter } from './emitter.ts';
import { ONNX_LOWERINGS } from './lowerings.ts';
import { IDS_INPUT, ONNX_IDS_INPUT, parsePast, POSITIONS_INPUT } from '../../src/ir/calling-convention.ts';

export const DEFAULT_OPSET = 17;
/** Opsets whose semantics the lowerings follow (the reduce lowerings switch at 18). */
export const SUPPORTED_OPSETS: readonly [number, number] = [17, 21];


const DIM_PARAMS: Readonly<Record<string, string>> = { B: 'batch', S: 'sequence', P: 'past_sequence' };

/** dim_param text: symbols renamed, e.g. `P + S` -> `past_sequence + sequence`. */
export function dimParam(d: Dim): string {
  return dimToString(d).replace(/[A-Za-z_][A-Za-z0-9_']*/g, (s) => DIM_PARAMS[s] ?? s.replace(/'/g, '_'));
}

function valueInfo(name: string, dtype: keyof typeof ELEM, shape: readonly Dim[]): onnx.IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: dimParam(d) }));
  return { name, type: { tensorType: { elemType: ELEM[dtype], shape: { dim } } } };
}

function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

export interface RenderOptions {
  opset?: number;
  /** metadata_props of the model */
  metadata?: Readonly<Record<string, string>>;
  producerVersion?: string;
}

/** Parameter values by name, checked against the IR's shapes. */
function weightLookup(weights: ReadonlyMap<string, Float32Array>) {
  return (name: string, type: TensorType): Float32Array => {
    const w = weights.get(name);
    if (!w) throw new RhcError(`ONNX export: no weights for parameter '${name}'`);
    const n = (type.shape as number[]).reduce((p, d) => p * d, 1);
    if (w.length !== n) throw new RhcError(`ONNX export: parameter '${name}' has ${w.length} values, expected ${n} for [${type.shape.join(', ')}]`);
    return w;
  };
}

/** Declares the ONNX inputs and binds every IR input and every symbolic dim to a value. */
function bindBoundary(g: Graph, em: OnnxEmitter): onnx.IValueInfoProto[] {
  const inputs = g.nodes.filter((n) => n.op === 'input');
  const declared: onnx.IValueInfoProto[] = [];
  const symbolSources: { name: string; shape: readonly Dim[] }[] = [];
  let positions: Node | undefined;
  for (const n of inputs) {
    const name = n.attrs.name as string;
    if (name === POSITIONS_INPUT) {
      positions = n;
    } else if (name === IDS_INPUT) {
      declared.push(valueInfo(em.reserve(ONNX_IDS_INPUT), 'i64', n.type.shape));
      em.bindInput(name, em.op('Cast', [ONNX_IDS_INPUT], { to: int(ELEM.i32) }));
      symbolSources.push({ name: ONNX_IDS_INPUT, shape: n.type.shape });
    } else {
      declared.push(valueInfo(em.reserve(name), n.type.dtype, n.type.shape));
      em.bindInput(name, name);
      symbolSources.push({ name, shape: n.type.shape });
    }
  }
  for (const { name, shape } of symbolSources)
    shape.forEach((d, axis) => {
      if (typeof d === 'number' || d.terms.size !== 1) return;
      const [[symbol, coeff]] = [...d.terms];
      if (coeff !== 1 || symbol.includes('*') || em.hasSymbol(symbol)) return;
      em.bindSymbol(symbol, em.op('Shape', [name], { start: int(axis), end: int(axis + 1) }));
    });
  if (positions) {
    if (positions.type.shape.length !== 1) throw new RhcError(`ONNX export: input '${POSITIONS_INPUT}' must be [S], got [${positions.type.shape.map(dimToString)}]`);
    const past = inputs.find((n) => parsePast(String(n.attrs.name)));
    const start = past ? em.dimScalar(past.type.shape[2]) : em.dimScalar(0);
    const end = em.op('Add', [start, em.dimScalar(positions.type.shape[0])]);
    const range = em.op('Range', [start, end, em.dimScalar(1)]);
    em.bindInput(POSITIONS_INPUT, em.op('Cast', [range], { to: int(ELEM.i32) }));
  }
  return declared;
}

export function renderModel(g: Graph, weights: ReadonlyMap<string, Float32Array>, opts: RenderOptions = {}): onnx.ModelProto {
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < SUPPORTED_OPSETS[0] || opset > SUPPORTED_OPSETS[1])
    throw new RhcError(`ONNX export supports opsets ${SUPPORTED_OPSETS[0]}..${SUPPORTED_OPSETS[1]}, got ${opset}`);
  const em = new OnnxEmitter(opset, weightLookup(weights));
  // Fixed names first (outputs, then parameters as initializers), so no generated name takes them.
  for (const o of g.outputs) em.reserve(o.name);
  for (const n of g.nodes) if (n.op === 'param') em.param(n.attrs.name as string, n.type);
  const input = bindBoundary(g, em);
  const values = new Map<number, string>();
  const types = new Map<number, TensorType>();
  for (const n of g.nodes) {
    const args = n.inputs.map((i) => values.get(i)!);
    values.set(n.id, ONNX_LOWERINGS[n.op](em, n, args, n.inputs.map((i) => types.get(i)!)));
    types.set(n.id, n.type);
  }
  const output = g.outputs.map((o) => {
    const t = types.get(o.id)!;
    em.opTo(o.name, 'Identity', [values.get(o.id)!]);
    return valueInfo(o.name, t.dtype, t.shape);
  });
  const { onnx: proto } = onnxProto;
  return proto.ModelProto.create({
    irVersion: irVersionFor(opset),
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'rhc',
    producerVersion: opts.producerVersion ?? '',
    graph: { name: g.name, node: em.nodes, input, output, initializer: em.initializers },
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}
