// Shared machinery for passes: a Rewriter copies a graph node by node, letting a pass keep,
// replace, drop or add nodes. Uses of a replaced value are redirected, types are re-inferred
// from the op's type rule (so a change upstream, such as a longer key axis, flows down), and
// ids stay stable for kept nodes so `rhc ir --after PASS` output lines up with the input.

import { isRegion, type Attrs, type Graph, type GraphOutput, type Node } from '../ir/graph.ts';
import { getOp, type OpName } from '../ir/registry.ts';
import type { TensorType } from '../ir/types.ts';
import type { RefTensor } from '../ir/reference.ts';
import type { ConstAttrs } from '../ir/ops/sources.ts';

export class Rewriter {
  private readonly out: Node[] = [];
  private readonly types = new Map<number, TensorType>();
  /** old id -> the id its uses now read */
  private readonly alias = new Map<number, number>();
  private nextId: number;

  constructor(readonly source: Graph) {
    this.nextId = maxNodeId(source) + 1;
  }

  /** An id no node of the source (or of a region in it) has, and the rewriter will not give. */
  freshId(): number {
    return this.nextId++;
  }

  /** The id a use of `id` reads after replacements. */
  resolve(id: number): number {
    let r = id;
    while (this.alias.has(r)) r = this.alias.get(r)!;
    return r;
  }

  /** From now on, uses of `from` read `to` instead (`from` itself is not copied). */
  replace(from: number, to: number): void {
    if (from !== to) this.alias.set(from, to);
  }

  type(id: number): TensorType {
    const t = this.types.get(this.resolve(id));
    if (!t) throw new Error(`internal: pass used value %${id} before defining it`);
    return t;
  }

  /** Copies `n` with its inputs redirected (and optionally changed op/attrs), keeping its id. */
  keep(n: Node, change: { op?: OpName; inputs?: readonly number[]; attrs?: Attrs; hint?: string } = {}): number {
    const op = change.op ?? n.op;
    const inputs = (change.inputs ?? n.inputs).map((i) => this.resolve(i));
    const attrs = change.attrs ?? n.attrs;
    return this.push(n.id, op, inputs, attrs, change.hint ?? n.hint);
  }

  /** Adds a new node with a fresh id. */
  add(op: OpName, inputs: readonly number[], attrs: Attrs = {}, hint?: string): number {
    return this.push(this.nextId++, op, inputs.map((i) => this.resolve(i)), attrs, hint);
  }

  private push(id: number, op: OpName, inputs: number[], attrs: Attrs, hint: string | undefined): number {
    const type = getOp(op).inferType(inputs.map((i) => this.type(i)), attrs as never);
    this.out.push({ id, op, inputs, attrs, type, ...(hint ? { hint } : {}) });
    this.types.set(id, type);
    return id;
  }

  finish(extra: { outputs?: readonly GraphOutput[]; symbols?: readonly string[] } = {}): Graph {
    const outputs = [...this.source.outputs, ...(extra.outputs ?? [])].map((o) => ({ name: o.name, id: this.resolve(o.id) }));
    return { ...this.source, symbols: extra.symbols ?? this.source.symbols, nodes: this.out, outputs };
  }
}

/** Attrs of a `const` node holding `t` (scalars keep the front end's scalar form). */
export function constAttrsOf(t: RefTensor): ConstAttrs {
  if (t.shape.length === 0) return { dtype: t.dtype, value: t.data[0] };
  return { dtype: t.dtype, shape: [...t.shape], data: Array.from(t.data) };
}

/** Users of each value, in node order. */
export function usersOf(g: Graph): Map<number, Node[]> {
  const users = new Map<number, Node[]>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      const list = users.get(i) ?? [];
      if (!list.includes(n)) list.push(n);
      users.set(i, list);
    }
  return users;
}

/** `base`, primed until no symbol of `g` has the name (a pass adding a symbol must not capture one). */
export function freshSymbol(g: Graph, base: string): string {
  let name = base;
  while (g.symbols.includes(name)) name += "'";
  return name;
}

/** The largest node id in `g`, regions' bodies included (their nodes keep graph ids). */
export function maxNodeId(g: Pick<Graph, 'nodes'>): number {
  let max = -1;
  for (const n of g.nodes) {
    max = Math.max(max, n.id);
    const body = n.attrs.body;
    if (isRegion(body)) max = Math.max(max, maxNodeId(body), ...body.args.map((a) => a.id));
  }
  return max;
}
