// Position tables computed at load: the cos/sin of every variant are functions of `pos` and of
// values fixed once weights are loaded (GP's and RoPE's constant frequencies; LR's, LR+norm's
// and GP+norm's from parameters). Each such value f(pos) [S, ...] becomes gather(T, pos), where
// T = f(0 .. n_positions-1) [n_positions, ...] is built in the graph from an iota: T depends
// on no input, so a backend computes it once when the weights are there (WebGPU: the plan's
// prepare dispatches) and a forward does no transcendental work for positions. CSE has already
// made q's and k's, and equal layers', tables one.
//
// Unlike tabulate-positions, which evaluates parameter-free tables at compile time and ships
// them as constants (ONNX), nothing is evaluated here, so a 4 MiB table costs no artifact bytes.
//
// A cos and a sin of one angle share one table [n_positions, 2, ...] (cos at 0, sin at 1): the
// kernel that rotates q and k then binds one buffer for both, which keeps c_attn's kernel within
// the 8 storage buffers every WebGPU device allows.
//
// Tables over the budget are not built and the result says so. The pairs are still stacked, as
// [S, 2, ...] per forward: read by q's and k's rotation, that stack is a value a backend
// computes once per forward (WebGPU realises a value read twice), not at every q and k element.

import type { Attrs, AttrValue, Graph, Node } from '../ir/graph.ts';
import { dimEval, type Dim } from '../ir/dims.ts';
import { size } from '../ir/reference.ts';
import { byteSize } from '../ir/dtypes.ts';
import { Rewriter } from './rewrite.ts';
import { positionalValues } from './tabulate-positions.ts';

/** 64 MiB of tables for every layer together. */
export const DEFAULT_TABLE_BUDGET_BYTES = 64 * 2 ** 20;

export interface PositionTables {
  graph: Graph;
  /** bytes of the tables built */
  bytes: number;
  /** tables built: a cos/sin pair is one */
  tables: number;
  /** when the tables would exceed the budget: the bytes they would take (none was built; cos/sin pairs are stacked per forward) */
  overBudget?: number;
}

function isDim(v: unknown): v is Dim {
  return typeof v === 'number' || (typeof v === 'object' && v !== null && 'terms' in v);
}

/** Each cos of a frontier with the sin of the same angle, both ways. */
function cosSinPairs(frontier: readonly { value: Node }[]): Map<number, Node> {
  const partner = new Map<number, Node>();
  for (const { value: c } of frontier) {
    const s = c.op === 'cos' ? frontier.find((x) => x.value.op === 'sin' && x.value.inputs[0] === c.inputs[0]) : undefined;
    if (s) partner.set(c.id, s.value).set(s.value.id, c);
  }
  return partner;
}

export function positionTables(g: Graph, budgetBytes = DEFAULT_TABLE_BUDGET_BYTES): PositionTables {
  const found = positionalValues(g, true);
  if (!found || found.frontier.length === 0) return { graph: g, bytes: 0, tables: 0 };
  const { pos, nPositions, symbol, kinds, frontier } = found;
  const bytes = frontier.reduce((n, f) => n + byteSize(f.value.type.dtype, nPositions * size(f.value.type.shape.slice(1) as number[])), 0);
  const atLoad = bytes <= budgetBytes;
  const partner = cosSinPairs(frontier);
  if (!atLoad && partner.size === 0) return { graph: g, bytes: 0, tables: 0, overBudget: bytes };

  // The positional nodes again, over positions 0 .. n_positions-1: S becomes n_positions.
  const at = new Map([[symbol, nPositions]]);
  const dim = (d: Dim): Dim => (typeof d === 'number' ? d : dimEval(d, at));
  const attr = (v: AttrValue): AttrValue => (Array.isArray(v) ? v.map((x) => (isDim(x) ? dim(x) : x)) as AttrValue : isDim(v) ? dim(v) : v);
  const overPositions = (a: Attrs): Attrs => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, attr(v)]));

  const rw = new Rewriter(g);
  const clones = new Map<number, number>();
  const frontierOf = new Map(frontier.map((f) => [f.value.id, f]));
  /** the table of frontier value `f` over every position */
  const table = (f: Node): number => {
    if (!clones.has(pos.id)) clones.set(pos.id, rw.add('iota', [], { length: nPositions }, 'positions 0 .. n_positions-1'));
    for (const c of frontierOf.get(f.id)!.cone) {
      if (kinds.get(c.id) !== 'pos' || clones.has(c.id)) continue;
      clones.set(c.id, rw.add(c.op, c.inputs.map((i) => clones.get(i) ?? i), overPositions(c.attrs), c.hint));
    }
    return clones.get(f.id)!;
  };
  /** cos and sin [S, ...] as rows of one stack [S, 2, ...]: of the table by pos at load, else of the values themselves */
  const stacked = (cos: Node, sin: Node): [number, number] => {
    const rest = cos.type.shape.slice(1);
    const lead = atLoad ? nPositions : cos.type.shape[0];
    const lift = (v: number) => rw.add('reshape', [v], { shape: [lead, 1, ...(atLoad ? rest.map(dim) : rest)] });
    const [c, s] = atLoad ? [table(cos), table(sin)] : [cos.id, sin.id];
    const stack = rw.add('concat', [lift(c), lift(s)], { axis: 1 }, `cos and sin of %${cos.inputs[0]}`);
    const rows = atLoad ? rw.add('gather', [stack, pos.id], {}, 'cos and sin by position') : stack;
    const part = (i: number, m: Node) => rw.add('reshape', [rw.add('slice', [rows], { axis: 1, start: i, end: i + 1 })], { shape: [...m.type.shape] }, `${m.hint ?? m.op} by position`);
    return [part(0, cos), part(1, sin)];
  };

  // A pair is stacked at its second node in graph order, when both are there; every reader of
  // either comes later in the layers rhc builds (rope reads both), and one that did not would
  // just read the value unstacked.
  const seen = new Set<number>();
  for (const n of g.nodes) {
    rw.keep(n);
    if (!frontierOf.has(n.id)) continue;
    seen.add(n.id);
    const other = partner.get(n.id);
    if (!other) {
      if (atLoad) rw.replace(n.id, rw.add('gather', [table(n), pos.id], {}, `${n.hint ?? n.op} by position`));
      continue;
    }
    if (!seen.has(other.id)) continue;
    const [cos, sin] = n.op === 'cos' ? [n, other] : [other, n];
    const [c, s] = stacked(cos, sin);
    rw.replace(cos.id, c);
    rw.replace(sin.id, s);
  }
  const graph = rw.finish();
  if (!atLoad) return { graph, bytes: 0, tables: 0, overBudget: bytes };
  return { graph, bytes, tables: frontier.length - partner.size / 2 };
}
