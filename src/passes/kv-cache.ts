// KV cache: turns a full-sequence graph into an incremental-decoding one, with the names
// Hugging Face Optimum gives a decoder-with-past. For the i-th attention node (in graph order,
// i.e. layer i) it adds inputs past_key_values.{i}.key/.value [B, H, P, D] (P: a new symbolic
// dim, the cached length), appends the new keys/values to them on the sequence axis (cache_append),
// and returns the concatenations as present.{i}.key/.value. Keys enter the cache as the
// attention op sees them, i.e. already rotated. The attention op's `causal` already offsets
// the mask by Sk - Sq; the `pos` input must now carry absolute positions P .. P+S-1.

import type { Graph, GraphOutput } from '../ir/graph.ts';
import { sym } from '../ir/dims.ts';
import { freshSymbol, Rewriter } from './rewrite.ts';
import { CACHE_KINDS, parsePast, pastName, presentName } from '../ir/calling-convention.ts';
import { RhcError } from '../errors.ts';

/** The cached-length symbol, renamed if the graph already uses it. */
const PAST_SYMBOL = 'P';

export function addKvCache(g: Graph): Graph {
  if (g.nodes.some((n) => n.op === 'input' && parsePast(String(n.attrs.name))))
    throw new RhcError('kv-cache: the graph already has past_key_values inputs (the pass runs once)');
  const P = freshSymbol(g, PAST_SYMBOL);
  const rw = new Rewriter(g);
  const outputs: GraphOutput[] = [];
  let layer = 0;
  for (const n of g.nodes) {
    if (n.op !== 'attention') {
      rw.keep(n);
      continue;
    }
    const [q, k, v] = n.inputs;
    const extended = CACHE_KINDS.map((what, j) => {
      const fresh = [k, v][j];
      const t = rw.type(fresh);
      const r = t.shape.length;
      const pastShape = [...t.shape.slice(0, r - 2), sym(P), t.shape[r - 1]];
      const name = pastName(layer, what);
      const past = rw.add('input', [], { name, dtype: t.dtype, shape: pastShape }, name);
      const present = presentName(layer, what);
      const all = rw.add('cache_append', [past, fresh], { axis: r - 2, layer, kind: what }, present);
      outputs.push({ name: present, id: all });
      return all;
    });
    rw.keep(n, { inputs: [q, ...extended] });
    layer++;
  }
  return rw.finish({ outputs, symbols: [...g.symbols, P] });
}
