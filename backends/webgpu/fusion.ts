// Epilogue fusion: the elementwise nodes after a matmul that can run inside the matmul's kernel,
// as a function of its accumulator. The region grows in graph order from the matmul over
// elementwise nodes of the matmul's shape (so every region value is read at the output's own
// index); it is valid when exactly one node, the root, is read from outside (or is a graph
// output). Growth stops as soon as a non-root node is read by something that can never join
// (another kernel, a reshape, a graph output). That fuses `x @ W + b`, the residual add after
// c_proj, and the whole GELU after c_fc, while q/k/v splits and layer norms stay outside.
// Declared as a rule over the graph, so the scheduler applies it wherever the pattern occurs.

import { nodeMap, type Graph, type Node } from '../../src/ir/graph.ts';
import { getOp } from '../../src/ir/registry.ts';
import { shapeEq } from '../../src/ir/dims.ts';
import { usersOf } from '../../src/passes/rewrite.ts';

export interface Epilogues {
  /** epilogue root -> the matmul whose kernel computes it */
  matmulOf: Map<number, number>;
  /** matmuls whose result is not stored (an epilogue consumes it) */
  deferred: Set<number>;
  /** nodes computed inside some matmul's epilogue, never on their own */
  inside: Set<number>;
}

export function findEpilogues(g: Graph): Epilogues {
  const users = usersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.id));
  const order = new Map(g.nodes.map((n, i) => [n.id, i]));
  const byId = nodeMap(g);
  const result: Epilogues = { matmulOf: new Map(), deferred: new Set(), inside: new Set() };

  for (const m of g.nodes) {
    if (m.op !== 'matmul') continue;
    const start = order.get(m.id)!;
    const fits = (u: Node) => getOp(u.op).category === 'elementwise' && u.type.dtype === m.type.dtype && shapeEq(u.type.shape, m.type.shape);
    // Does `id` depend on a region node? (then a node reading both would close a cycle)
    const reaches = (id: number, region: ReadonlySet<number>): boolean => {
      const stack = [id];
      const seen = new Set<number>();
      while (stack.length > 0) {
        const x = stack.pop()!;
        if (region.has(x)) return true;
        if (seen.has(x) || order.get(x)! < start) continue;
        seen.add(x);
        stack.push(...byId.get(x)!.inputs);
      }
      return false;
    };
    const region = new Set([m.id]);
    let best = { root: m.id, nodes: [m.id] };
    for (const u of g.nodes.slice(start + 1)) {
      if (!u.inputs.some((i) => region.has(i))) continue;
      if (!fits(u) || u.inputs.some((i) => !region.has(i) && reaches(i, region))) break;
      region.add(u.id);
      const readOutside = [...region].filter((x) => outputs.has(x) || (users.get(x) ?? []).some((v) => !region.has(v.id)));
      if (readOutside.length === 1 && readOutside[0] === u.id) best = { root: u.id, nodes: [...region] };
      // A non-root node read by something that can never join ends the growth.
      const blocked = [...region].some((x) => x !== u.id && (outputs.has(x) || (users.get(x) ?? []).some((v) => !region.has(v.id) && !fits(v))));
      if (blocked) break;
    }
    if (best.root === m.id) continue;
    result.matmulOf.set(best.root, m.id);
    result.deferred.add(m.id);
    for (const x of best.nodes) if (x !== m.id && x !== best.root) result.inside.add(x);
  }
  return result;
}
