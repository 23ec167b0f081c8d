// JSON form of a graph. Symbolic dims are written as {"dim": "B*S + 1"} so the file stays plain JSON;
// a fused node's body as {"region": {"args", "nodes", "output"}} with its nodes in the same form.
// Version 2 added regions; version 1 files (which have none) read unchanged.

import { type Dim, dimToJson, parseDim } from './dims.ts';
import { isRegion, type AttrValue, type Attrs, type Graph, type Node, type Region } from './graph.ts';
import { isOpName } from './registry.ts';
import type { TensorType } from './types.ts';

export const IR_JSON_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function dimOut(d: Dim): Json {
  return typeof d === 'number' ? d : { dim: dimToJson(d) };
}

function typeOut(t: TensorType): Json {
  return { dtype: t.dtype, shape: t.shape.map(dimOut) };
}

function typeIn(j: any): TensorType {
  return { dtype: j.dtype, shape: j.shape.map(dimIn) };
}

function nodeOut(n: Node): Json {
  return {
    id: n.id,
    op: n.op,
    inputs: [...n.inputs],
    attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attrOut(v)])),
    type: typeOut(n.type),
    ...(n.hint ? { hint: n.hint } : {}),
  };
}

function nodeIn(n: any): Node {
  if (!isOpName(n.op)) throw new Error(`IR JSON: unknown op '${n.op}' in node %${n.id}`);
  const attrs: Attrs = Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attrIn(v as Json)]));
  return { id: n.id, op: n.op, inputs: n.inputs, attrs, type: typeIn(n.type), ...(n.hint ? { hint: n.hint } : {}) };
}

function attrOut(v: AttrValue): Json {
  if (isRegion(v)) return { region: { args: v.args.map((a) => ({ id: a.id, type: typeOut(a.type) })), nodes: v.nodes.map(nodeOut), output: v.output } };
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? x : dimOut(x as Dim)));
  if (typeof v === 'object' && v !== null) return 'terms' in v ? dimOut(v as Dim) : ({ ...v } as Json);
  return v as Json;
}

function dimIn(j: Json): Dim {
  if (typeof j === 'number') return j;
  if (j && typeof j === 'object' && !Array.isArray(j) && typeof j.dim === 'string') return parseDim(j.dim);
  throw new Error(`IR JSON: malformed dimension ${JSON.stringify(j)}`);
}

function attrIn(j: Json): AttrValue {
  if (Array.isArray(j)) return j.every((x) => typeof x === 'number') ? (j as number[]) : j.map(dimIn);
  if (j && typeof j === 'object' && 'region' in j) {
    const r = j.region as any;
    const region: Region = { args: r.args.map((a: any) => ({ id: a.id, type: typeIn(a.type) })), nodes: r.nodes.map(nodeIn), output: r.output };
    return region;
  }
  if (j && typeof j === 'object') return 'dim' in j ? dimIn(j) : (j as unknown as AttrValue);
  return j as AttrValue;
}

export function graphToJson(g: Graph): Json {
  return {
    version: IR_JSON_VERSION,
    name: g.name,
    symbols: [...g.symbols],
    config: { ...g.config },
    nodes: g.nodes.map(nodeOut),
    outputs: g.outputs.map((o) => ({ ...o })),
  };
}

export function graphFromJson(j: any): Graph {
  if (!j || !READABLE_VERSIONS.includes(j.version)) throw new Error(`IR JSON: expected version ${READABLE_VERSIONS.join(' or ')}, got ${j?.version}`);
  return { name: j.name, symbols: j.symbols, config: j.config, nodes: j.nodes.map(nodeIn), outputs: j.outputs };
}
