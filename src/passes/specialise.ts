// Specialisation: binds symbolic dims to numbers throughout a graph (shapes, reshape targets,
// slice bounds, iota lengths), so a backend sees concrete sizes. A training step runs at one
// [batch, seq] for a whole run: specialised, every size is known to be a multiple of 4 where it
// is one, and the WebGPU backend picks its vec4 kernels, which a symbolic S would rule out.
// A reduction over an axis that became 1 (autodiff's sum over the batch of a weight used by
// every sequence, at batch 1) is a reshape: no kernel, no pass over a [1, D, vocab] gradient.

import type { AttrValue, Attrs, Graph } from '../ir/graph.ts';
import { dimEval, dimSymbols, type Dim } from '../ir/dims.ts';
import { Rewriter } from './rewrite.ts';
import { normaliseAxis } from '../ir/reference.ts';
import type { ReduceAttrs } from '../ir/ops/reduce.ts';

/** Reductions over one axis: over a length-1 axis each is the identity on values. */
const REDUCTIONS: ReadonlySet<string> = new Set(['sum', 'mean', 'max_reduce']);

const isDimObject = (v: unknown): v is Dim => typeof v === 'object' && v !== null && 'terms' in v;

export function specialise(g: Graph, values: ReadonlyMap<string, number>): Graph {
  const bind = (d: Dim): Dim => (typeof d === 'number' || !dimSymbols(d).every((s) => values.has(s)) ? d : dimEval(d, values));
  const mapAttr = (v: AttrValue): AttrValue => {
    if (isDimObject(v)) return bind(v);
    if (Array.isArray(v)) return v.map((x) => (isDimObject(x) ? bind(x) : x));
    if (typeof v === 'object' && v !== null && 'nodes' in v) throw new Error('internal: specialise runs before fusion (a region holds its own shapes)');
    return v;
  };
  const rw = new Rewriter(g);
  for (const n of g.nodes) {
    const attrs: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(n.attrs)) attrs[k] = mapAttr(v);
    if (REDUCTIONS.has(n.op)) {
      const x = rw.type(n.inputs[0]).shape;
      const { axis, keepdims } = n.attrs as unknown as ReduceAttrs;
      const ax = normaliseAxis(axis, x.length);
      if (x[ax] === 1) {
        rw.keep(n, { op: 'reshape', attrs: { shape: keepdims ? x : x.filter((_, i) => i !== ax) } });
        continue;
      }
    }
    rw.keep(n, { attrs: attrs as Attrs });
  }
  return { ...rw.finish(), symbols: g.symbols.filter((s) => !values.has(s)) };
}
