// JSON form of a graph. Symbolic dims are written as {"dim": "B*S + 1"} so the file stays plain JSON.

import { type Dim, dimToJson, parseDim } from './dims.ts';
import type { AttrValue, Attrs, Graph, Node } from './graph.ts';
import { isOpName } from './registry.ts';
import type { TensorType } from './types.ts';

export const IR_JSON_VERSION = 1;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function dimOut(d: Dim): Json {
  return typeof d === 'number' ? d : { dim: dimToJson(d) };
}

function attrOut(v: AttrValue): Json {
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
  if (j && typeof j === 'object') return 'dim' in j ? dimIn(j) : (j as unknown as AttrValue);
  return j as AttrValue;
}

export function graphToJson(g: Graph): Json {
  return {
    version: IR_JSON_VERSION,
    name: g.name,
    symbols: [...g.symbols],
    config: { ...g.config },
    nodes: g.nodes.map((n) => ({
      id: n.id,
      op: n.op,
      inputs: [...n.inputs],
      attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attrOut(v)])),
      type: { dtype: n.type.dtype, shape: n.type.shape.map(dimOut) },
      ...(n.hint ? { hint: n.hint } : {}),
    })),
    outputs: g.outputs.map((o) => ({ ...o })),
  };
}

export function graphFromJson(j: any): Graph {
  if (!j || j.version !== IR_JSON_VERSION) throw new Error(`IR JSON: expected version ${IR_JSON_VERSION}, got ${j?.version}`);
  const nodes: Node[] = j.nodes.map((n: any) => {
    if (!isOpName(n.op)) throw new Error(`IR JSON: unknown op '${n.op}' in node %${n.id}`);
    const attrs: Attrs = Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attrIn(v as Json)]));
    const type: TensorType = { dtype: n.type.dtype, shape: n.type.shape.map(dimIn) };
    return { id: n.id, op: n.op, inputs: n.inputs, attrs, type, ...(n.hint ? { hint: n.hint } : {}) };
  });
  return { name: j.name, symbols: j.symbols, config: j.config, nodes, outputs: j.outputs };
}
