// Compile-time evaluation for folding and tabulation: runs the reference semantics of a set of
// nodes (in graph order) in f64, so a folded constant is as exact as the f64 oracle would be.

import type { Node } from '../ir/graph.ts';
import { getOp } from '../ir/registry.ts';
import type { EvalEnv, RefTensor } from '../ir/reference.ts';

/**
 * Evaluates `nodes` (topologically ordered; every input is either among them or in `known`) and
 * returns the values of all of them. `dims` binds the symbolic dims they mention.
 */
export function evaluateNodes(
  nodes: readonly Node[],
  known: ReadonlyMap<number, RefTensor>,
  dims: ReadonlyMap<string, number> = new Map(),
): Map<number, RefTensor> {
  const env: EvalEnv = { precision: 'f64', dims };
  const values = new Map(known);
  for (const n of nodes) {
    const args = n.inputs.map((i) => {
      const v = values.get(i);
      if (!v) throw new Error(`internal: compile-time evaluation of %${n.id} lacks %${i}`);
      return v;
    });
    values.set(n.id, getOp(n.op).evaluate(args, n.attrs, env));
  }
  return values;
}
