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
// Tables over the budget are not built (the values stay per forward) and the result says so.

import type { Attrs, AttrValue, Graph } from '../ir/graph.ts';
import { dimEval, type Dim } from '../ir/dims.ts';
import { size } from '../ir/reference.ts';
import { Rewriter } from './rewrite.ts';
import { positionalValues } from './tabulate-positions.ts';

/** 64 MiB of f32 tables for every layer together. */
export const DEFAULT_TABLE_BUDGET_BYTES = 64 * 2 ** 20;

export interface PositionTables {
  graph: Graph;
  /** bytes of the tables built (f32) */
  bytes: number;
  tables: number;
  /** when the tables would exceed the budget: the bytes they would take (none was built) */
  overBudget?: number;
}

function isDim(v: unknown): v is Dim {
  return typeof v === 'number' || (typeof v === 'object' && v !== null && 'terms' in v);
}

export function positionTables(g: Graph, budgetBytes = DEFAULT_TABLE_BUDGET_BYTES): PositionTables {
  const found = positionalValues(g, true);
  if (!found || found.frontier.length === 0) return { graph: g, bytes: 0, tables: 0 };
  const { pos, nPositions, symbol, kinds, frontier } = found;
  const bytes = frontier.reduce((n, f) => n + nPositions * size(f.value.type.shape.slice(1) as number[]) * 4, 0);
  if (bytes > budgetBytes) return { graph: g, bytes: 0, tables: 0, overBudget: bytes };

  // The positional nodes again, over positions 0 .. n_positions-1: S becomes n_positions.
  const at = new Map([[symbol, nPositions]]);
  const dim = (d: Dim): Dim => (typeof d === 'number' ? d : dimEval(d, at));
  const attr = (v: AttrValue): AttrValue => (Array.isArray(v) ? v.map((x) => (isDim(x) ? dim(x) : x)) as AttrValue : isDim(v) ? dim(v) : v);
  const overPositions = (a: Attrs): Attrs => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, attr(v)]));

  const rw = new Rewriter(g);
  const clones = new Map<number, number>();
  const frontierOf = new Map(frontier.map((f) => [f.value.id, f]));
  for (const n of g.nodes) {
    rw.keep(n);
    const f = frontierOf.get(n.id);
    if (!f) continue;
    if (!clones.has(pos.id)) clones.set(pos.id, rw.add('iota', [], { length: nPositions }, 'positions 0 .. n_positions-1'));
    for (const c of f.cone) {
      if (kinds.get(c.id) !== 'pos' || clones.has(c.id)) continue;
      clones.set(c.id, rw.add(c.op, c.inputs.map((i) => clones.get(i) ?? i), overPositions(c.attrs), c.hint));
    }
    const what = n.hint ?? n.op;
    rw.replace(n.id, rw.add('gather', [clones.get(n.id)!, pos.id], {}, `${what} by position`));
  }
  return { graph: rw.finish(), bytes, tables: frontier.length };
}
