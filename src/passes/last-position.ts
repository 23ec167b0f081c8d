// Last-position logits: when only the next token is wanted (generate's prefill, every decode
// step), the lm_head need not run on every position. The pass walks back from the `logits`
// output [.., S, vocab] through ops that treat each position alone (a matmul by a weight, a
// LayerNorm over the last axis, elementwise ops whose other operands carry no position axis),
// slices their positional input to the last position, and re-infers the ops after it. In GPT-2
// the walk stops at the final residual add, so ln_f and the lm_head run on B rows, not B*S:
// exact, since no op on the way mixes positions. `logits` becomes [B, 1, vocab].
//
// `lastRows` is the same with R rows (a new symbol, 1 <= R <= S, bound per run): one WebGPU plan
// then serves a forward (R = S, every position) and a decoder (R = 1).

import { nodeMap, type Graph, type Node } from '../ir/graph.ts';
import { getOp } from '../ir/registry.ts';
import { dimEq, dimSub, isConcrete, sym, type Dim } from '../ir/dims.ts';
import { freshSymbol, Rewriter, usersOf } from './rewrite.ts';
import { LOGITS_OUTPUT } from '../ir/calling-convention.ts';

/** The symbol `lastRows` adds (primed if the graph already uses it). */
const ROWS_SYMBOL = 'R';

/** `logits` for the last position only. */
export function lastPosition(g: Graph): Graph {
  return keepLastRows(g, 1, g.symbols);
}

/** `logits` for the last R positions, R a new symbol; also returns its name (none when `g` has nothing to slice). */
export function lastRows(g: Graph): { graph: Graph; symbol?: string } {
  const R = freshSymbol(g, ROWS_SYMBOL);
  const graph = keepLastRows(g, sym(R), [...g.symbols, R]);
  return graph === g ? { graph } : { graph, symbol: R };
}

/**
 * The one input of `n` that carries the position axis `ax` (of length S), when every position
 * of `n`'s result depends on that position of it alone; undefined otherwise.
 */
function positionalInput(n: Node, ax: number, S: Dim, byId: ReadonlyMap<number, Node>): number | undefined {
  const rank = n.type.shape.length;
  const shapeOf = (id: number) => byId.get(id)!.type.shape;
  const full = (id: number) => shapeOf(id).length === rank && dimEq(shapeOf(id)[ax], S);
  if (!getOp(n.op).pure || rank < 2 || !dimEq(n.type.shape[ax], S)) return undefined;
  const [x, ...rest] = n.inputs;
  switch (n.op) {
    case 'matmul': // rows of x times a weight matrix: row s of the result reads row s of x
      return full(x) && shapeOf(rest[0]).length === 2 ? x : undefined;
    case 'layer_norm': // over the last axis, with [D] weight and bias
      return full(x) && ax < rank - 1 ? x : undefined;
  }
  if (getOp(n.op).category !== 'elementwise') return undefined;
  // Broadcasting: an operand reaches axis `ax` only when it has that many trailing axes.
  const carries = (id: number) => {
    const s = shapeOf(id);
    const i = ax - (rank - s.length);
    return i >= 0 && s[i] !== 1;
  };
  const positional = n.inputs.filter(carries);
  return positional.length === 1 && n.inputs.filter((i) => i === positional[0]).length === 1 && full(positional[0]) ? positional[0] : undefined;
}

function keepLastRows(g: Graph, rows: Dim, symbols: readonly string[]): Graph {
  const out = g.outputs.find((o) => o.name === LOGITS_OUTPUT);
  if (!out) return g;
  const byId = nodeMap(g);
  const logits = byId.get(out.id)!;
  const ax = logits.type.shape.length - 2;
  const S = logits.type.shape[ax];
  // Nothing to slice: no position axis, or one already of fixed length (the pass ran before).
  if (ax < 0 || S === undefined || isConcrete(S)) return g;
  const users = usersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.id));
  // Logits read elsewhere too (another output, another op) keep their rows; only the output is sliced.
  const shared = (users.get(logits.id) ?? []).length > 0 || g.outputs.filter((o) => o.id === logits.id).length > 1;
  // Walk back from logits while each op is positionwise; `top` is the value to slice.
  const chain = new Set<number>();
  let top = logits.id;
  for (let n: Node = logits; !shared; ) {
    const p = positionalInput(n, ax, S, byId);
    if (p === undefined) break;
    chain.add(n.id);
    top = p;
    const sole = !outputs.has(p) && (users.get(p) ?? []).every((u) => u === n);
    if (!sole) break;
    n = byId.get(p)!;
  }
  const rw = new Rewriter(g);
  let sliced = -1;
  for (const n of g.nodes) {
    rw.keep(n, chain.has(n.id) ? { inputs: n.inputs.map((i) => (i === top ? sliced : i)) } : {});
    if (n.id === top) sliced = rw.add('slice', [top], { axis: ax, start: dimSub(S, rows), end: S }, rows === 1 ? 'last position' : 'last positions');
  }
  const done = rw.finish({ symbols });
  // When logits itself was not positionwise, it is what is sliced: the output reads the slice.
  if (top !== logits.id) return done;
  return { ...done, outputs: done.outputs.map((o) => (o.name === LOGITS_OUTPUT ? { ...o, id: sliced } : o)) };
}
