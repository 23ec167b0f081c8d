// Constant folding: a pure node whose inputs are all constants (and whose shape is concrete)
// is evaluated now, with the op's reference semantics in f64, and becomes a tensor `const`.
// GP and standard RoPE frequencies depend on the configuration only, so they fold to one
// [H, D/2] constant; learnable ones depend on parameters and stay as computed.

import type { Graph } from '../ir/graph.ts';
import { getOp } from '../ir/registry.ts';
import { isConcrete } from '../ir/dims.ts';
import { size, type RefTensor } from '../ir/reference.ts';
import { constAttrsOf, Rewriter } from './rewrite.ts';
import { evaluateNodes } from './evaluate.ts';

/** Bigger results stay computed: folding must not bloat the graph (a broadcast to [B*S, E], say). */
export const MAX_FOLDED_ELEMENTS = 1 << 22;

export function foldConstants(g: Graph): Graph {
  const rw = new Rewriter(g);
  const known = new Map<number, RefTensor>();
  for (const n of g.nodes) {
    const def = getOp(n.op);
    const shape = n.type.shape;
    const foldable =
      def.pure && shape.every(isConcrete) && size(shape as number[]) <= MAX_FOLDED_ELEMENTS &&
      n.inputs.every((i) => known.has(rw.resolve(i)));
    if (!foldable) {
      rw.keep(n);
      continue;
    }
    let value: RefTensor;
    try {
      value = evaluateNodes([{ ...n, inputs: n.inputs.map((i) => rw.resolve(i)) }], known).get(n.id)!;
    } catch {
      // e.g. a constant index out of range: leave it for run time, which reports it properly.
      rw.keep(n);
      continue;
    }
    known.set(n.id, value);
    rw.keep(n, n.op === 'const' ? {} : { op: 'const', inputs: [], attrs: constAttrsOf(value) });
  }
  return rw.finish();
}
