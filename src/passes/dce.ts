// Dead-code elimination: drops every node no output depends on. Graph inputs stay even when
// unused, because they are the graph's calling convention (a caller still feeds them).

import type { Graph } from '../ir/graph.ts';

export function eliminateDeadCode(g: Graph): Graph {
  const live = new Set(g.outputs.map((o) => o.id));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (live.has(n.id)) for (const x of n.inputs) live.add(x);
  }
  const nodes = g.nodes.filter((n) => live.has(n.id) || n.op === 'input');
  return nodes.length === g.nodes.length ? g : { ...g, nodes };
}
