// Common-subexpression elimination: two nodes of a pure op with the same (already merged)
// inputs, attributes and type compute the same value, so uses of the later one read the
// earlier. The elaborator inlines a module at every call, so the rope frequencies of q and k
// in every layer arrive as 2·n_layer identical subgraphs; this merges them into one.
// Sources (`input`, `param`) are not pure and are never merged.

import { isRegion, type AttrValue, type Graph, type Node } from '../ir/graph.ts';
import { graphToJson } from '../ir/serialize.ts';
import { getOp } from '../ir/registry.ts';
import { dimToString, type Dim } from '../ir/dims.ts';
import { typeToString } from '../ir/types.ts';
import { Rewriter } from './rewrite.ts';

/** Lists longer than this (tensor constants) are keyed by a hash and compared in full on a hit. */
const HASHED_LIST = 64;

function numberKey(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

function hashNumbers(xs: readonly number[]): string {
  const f = new Float64Array(1);
  const words = new Uint32Array(f.buffer);
  let h = 0x811c9dc5;
  for (const x of xs) {
    f[0] = x;
    h = Math.imul(h ^ words[0], 0x01000193);
    h = Math.imul(h ^ words[1], 0x01000193);
  }
  return `#${xs.length}:${(h >>> 0).toString(16)}`;
}

function attrKey(v: AttrValue): string {
  if (isRegion(v)) return `region(${JSON.stringify(graphToJson({ name: '', symbols: [], config: {}, nodes: v.nodes, outputs: [] }))} args ${v.args.map((a) => a.id)} -> ${v.output})`;
  if (Array.isArray(v)) {
    if (v.length > HASHED_LIST && v.every((x) => typeof x === 'number')) return hashNumbers(v as number[]);
    return `[${v.map((x) => (typeof x === 'number' ? numberKey(x) : dimToString(x as Dim))).join(',')}]`;
  }
  if (typeof v === 'number') return numberKey(v);
  if (typeof v === 'object' && v !== null) return 'terms' in v ? `dim(${dimToString(v as Dim)})` : JSON.stringify(v);
  return JSON.stringify(v);
}

function nodeKey(n: Node, inputs: readonly number[]): string {
  const attrs = Object.keys(n.attrs)
    .sort()
    .map((k) => `${k}=${attrKey(n.attrs[k])}`)
    .join(';');
  return `${n.op}(${inputs.join(',')}){${attrs}}:${typeToString(n.type)}`;
}

/** Exact comparison of the hashed (long) attributes, so a hash collision never merges. */
function sameLongAttrs(a: Node, b: Node): boolean {
  for (const k of Object.keys(a.attrs)) {
    const x = a.attrs[k];
    const y = b.attrs[k];
    if (Array.isArray(x) && x.length > HASHED_LIST) {
      if (!Array.isArray(y) || y.length !== x.length || x.some((v, i) => !Object.is(v, y[i]))) return false;
    }
  }
  return true;
}

export function eliminateCommonSubexpressions(g: Graph): Graph {
  const rw = new Rewriter(g);
  const seen = new Map<string, Node[]>();
  for (const n of g.nodes) {
    if (!getOp(n.op).pure) {
      rw.keep(n);
      continue;
    }
    const key = nodeKey(n, n.inputs.map((i) => rw.resolve(i)));
    const candidates = seen.get(key) ?? [];
    const twin = candidates.find((c) => sameLongAttrs(c, n));
    if (twin) {
      rw.replace(n.id, twin.id);
      continue;
    }
    rw.keep(n);
    seen.set(key, [...candidates, n]);
  }
  return rw.finish();
}
