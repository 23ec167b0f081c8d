// The IR: a typed SSA graph. Every value is produced by exactly one node, nodes are kept in
// topological order, and inputs/parameters/constants are nodes too (as in a jaxpr), so a
// pass is a function from Graph to Graph that never needs a side table.

import type { Dim } from './dims.ts';
import type { TensorType } from './types.ts';
import { getOp, type OpName } from './registry.ts';

export type AttrValue = number | boolean | string | readonly number[] | readonly Dim[] | Dim | InitSpec | Region;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** How `rhc init-weights` fills a parameter (GPT-2's initialisation). */
export type InitSpec =
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'ones' }
  | { readonly kind: 'zeros' };

/**
 * The sub-graph of a `fused` node (src/ir/ops/fused.ts), as an XLA fusion computation holds
 * one: `nodes` in topological order over `args`, which stand for the fused node's inputs in
 * order, computing `output`. Body nodes keep the ids they had in the graph they were fused
 * from, so `rhc ir` output lines up across stages; args are ids no body node defines.
 */
export interface Region {
  readonly args: readonly { readonly id: number; readonly type: TensorType }[];
  readonly nodes: readonly Node[];
  readonly output: number;
}

export function isRegion(v: AttrValue | undefined): v is Region {
  return typeof v === 'object' && v !== null && 'nodes' in v && 'args' in v;
}

export interface Node {
  readonly id: number;
  readonly op: OpName;
  readonly inputs: readonly number[];
  readonly attrs: Attrs;
  readonly type: TensorType;
  /** a readable name from the source (`q`, `transformer.h.0.attn.c_attn.weight`), for printing only */
  readonly hint?: string;
}

export interface GraphOutput {
  readonly name: string;
  readonly id: number;
}

export interface Graph {
  readonly name: string;
  /** symbolic dims the graph's input shapes are polymorphic over (B, S, ...) */
  readonly symbols: readonly string[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly GraphOutput[];
  /** the resolved configuration the graph was instantiated with (for metadata and checkpoints) */
  readonly config: Readonly<Record<string, number | boolean | string>>;
}

/** Builds a graph node by node; every node's type comes from its op's type rule. */
export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly byId = new Map<number, Node>();
  private nextId = 0;

  add(op: OpName, inputs: readonly number[], attrs: Attrs = {}, hint?: string): number {
    const def = getOp(op);
    const type = def.inferType(
      inputs.map((i) => this.type(i)),
      attrs as never,
    );
    const node: Node = { id: this.nextId++, op, inputs, attrs, type, ...(hint ? { hint } : {}) };
    this.nodes.push(node);
    this.byId.set(node.id, node);
    return node.id;
  }

  type(id: number): TensorType {
    const n = this.byId.get(id);
    if (!n) throw new Error(`internal: value %${id} does not exist`);
    return n.type;
  }

  node(id: number): Node {
    const n = this.byId.get(id);
    if (!n) throw new Error(`internal: value %${id} does not exist`);
    return n;
  }

  /** A point to `truncate` back to. */
  mark(): number {
    return this.nextId;
  }

  /** Drops every node added since `mark` (an unchosen `match` arm is checked, then discarded). */
  truncate(mark: number): void {
    // Nodes since `mark` are the tail: ids only grow. Scanning back costs the arm, not the graph.
    let keep = this.nodes.length;
    while (keep > 0 && this.nodes[keep - 1].id >= mark) keep--;
    for (const n of this.nodes.splice(keep)) this.byId.delete(n.id);
    this.nextId = mark;
  }

  /** Nodes added so far (e.g. to find existing parameters). */
  all(): readonly Node[] {
    return this.nodes;
  }

  finish(name: string, symbols: readonly string[], outputs: GraphOutput[], config: Graph['config']): Graph {
    return { name, symbols, nodes: [...this.nodes], outputs, config };
  }
}

export function nodeMap(g: Graph): Map<number, Node> {
  return new Map(g.nodes.map((n) => [n.id, n]));
}

export function graphParams(g: Graph): Node[] {
  return g.nodes.filter((n) => n.op === 'param');
}
