// Position tabulation: a value computed from the `pos` input [S] and constants alone (fixed
// RoPE's cos(reshape(pos, [S, 1, 1]) * F) and sin(...)) is replaced by gather(table, pos), the
// table being that value evaluated for positions 0 .. n_positions-1 at compile time. Exports
// then carry the [n_positions, H, D/2] cos/sin tables as weights instead of trigonometry.
//
// Sound only when row s of the value depends on pos[s] alone: every op on the way must keep
// the position axis leading and never mix positions (see `positionwise`). Anything else, or
// anything touching a parameter, stays computed.

import { nodeMap, type Graph, type Node } from '../ir/graph.ts';
import { getOp, type OpName } from '../ir/registry.ts';
import { dimEq, isConcrete, sym, type Dim } from '../ir/dims.ts';
import { normaliseAxis, size, type RefTensor } from '../ir/reference.ts';
import { constAttrsOf, Rewriter, usersOf } from './rewrite.ts';
import { evaluateNodes } from './evaluate.ts';
import { POSITIONS_INPUT } from '../ir/calling-convention.ts';

/** Tables above this many elements are not worth their weight file. */
const MAX_TABLE_ELEMENTS = 1 << 24;
/** Ops that only move or convert values; a subgraph of these alone is not worth a table. */
export const onlyMoves = (op: OpName) => getOp(op).category === 'movement' || op === 'cast';
/** Ops whose output element reads its operands at the same index only (rope: the same pair of the last axis). */
const elementwise = (op: OpName) => getOp(op).category === 'elementwise' || op === 'rope';
const REDUCING = new Set(['sum', 'mean', 'max_reduce', 'softmax']);

export type Kind = 'const' | 'pos' | 'other';

/** Is `n` (some inputs 'pos', the rest 'const') a rowwise function along a leading S axis? */
function positionwise(n: Node, S: Dim, inputs: readonly Node[], kinds: ReadonlyMap<number, Kind>): boolean {
  const out = n.type.shape;
  if (out.length === 0 || !dimEq(out[0], S) || !out.slice(1).every(isConcrete)) return false;
  const posInputs = inputs.filter((x) => kinds.get(x.id) === 'pos');
  // A positional operand must have the output's rank, so its S axis lands on the output's axis 0.
  const aligned = posInputs.every((x) => x.type.shape.length === out.length && dimEq(x.type.shape[0], S));
  const axis = typeof n.attrs.axis === 'number' ? normaliseAxis(n.attrs.axis, inputs[0].type.shape.length) : -1;
  if (elementwise(n.op)) return aligned;
  switch (n.op) {
    case 'reshape':
      return dimEq(inputs[0].type.shape[0], S); // [S, ...] -> [S, ...]: each row keeps its elements
    case 'broadcast':
      return aligned;
    case 'transpose':
      return aligned && (n.attrs.perm as readonly number[])[0] === 0;
    case 'slice':
    case 'concat':
      return aligned && axis !== 0 && posInputs.length === inputs.length;
    case 'gather':
      return kinds.get(inputs[0].id) === 'const' && dimEq(inputs[1].type.shape[0], S);
    case 'layer_norm':
      return aligned && out.length >= 2 && kinds.get(inputs[1].id) === 'const' && kinds.get(inputs[2].id) === 'const';
    default:
      return REDUCING.has(n.op) && aligned && axis !== 0;
  }
}

/**
 * Each node's kind. With `params`, parameters count as constants (their value is fixed once
 * weights are loaded): position-tables builds such tables in the graph instead of evaluating them.
 */
export function classify(g: Graph, pos: Node, S: Dim, params = false): Map<number, Kind> {
  const kinds = new Map<number, Kind>();
  const byId = nodeMap(g);
  for (const n of g.nodes) {
    const inputs = n.inputs.map((i) => byId.get(i)!);
    const ks = inputs.map((x) => kinds.get(x.id)!);
    let k: Kind = 'other';
    if (n === pos) k = 'pos';
    else if (params && n.op === 'param') k = 'const';
    else if (!getOp(n.op).pure || ks.includes('other')) k = 'other';
    else if (!ks.includes('pos')) k = n.type.shape.every(isConcrete) ? 'const' : 'other';
    else k = positionwise(n, S, inputs, kinds) ? 'pos' : 'other';
    kinds.set(n.id, k);
  }
  return kinds;
}

/** The 'pos'/'const' nodes `root` depends on, in graph order. */
export function cone(g: Graph, root: Node, kinds: ReadonlyMap<number, Kind>): Node[] {
  const need = new Set([root.id]);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (need.has(n.id)) for (const x of n.inputs) need.add(x);
  }
  return g.nodes.filter((n) => need.has(n.id) && kinds.get(n.id) !== 'other');
}

/** The positional values worth a table: what `pos` feeds, read by something that is not positional. */
export interface PositionalValues {
  pos: Node;
  nPositions: number;
  /** the sequence symbol, pos's only dim */
  symbol: string;
  kinds: Map<number, Kind>;
  /** each frontier value with the nodes it is computed from (pos excluded) */
  frontier: { value: Node; cone: Node[] }[];
}

export function positionalValues(g: Graph, params = false): PositionalValues | undefined {
  const pos = g.nodes.find((n) => n.op === 'input' && n.attrs.name === POSITIONS_INPUT);
  const nPositions = g.config.n_positions;
  if (!pos || typeof nPositions !== 'number' || pos.type.shape.length !== 1 || pos.type.dtype !== 'i32') return undefined;
  const S = pos.type.shape[0];
  if (isConcrete(S)) return undefined;
  const symbol = S.terms.size === 1 && [...S.terms][0][1] === 1 ? [...S.terms][0][0] : undefined;
  if (!symbol || !dimEq(S, sym(symbol))) return undefined;
  const kinds = classify(g, pos, S, params);
  const users = usersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.id));
  // The frontier: positional values something non-positional (or the caller) reads.
  const frontier = g.nodes
    .filter((n) => n !== pos && kinds.get(n.id) === 'pos' && (outputs.has(n.id) || (users.get(n.id) ?? []).some((u) => kinds.get(u.id) !== 'pos')))
    .map((value) => ({ value, cone: cone(g, value, kinds).filter((n) => n !== pos) }))
    // only moving values (gather(wpe, pos)) is not worth a table: the positional part must compute
    .filter((f) => !f.cone.every((n) => kinds.get(n.id) !== 'pos' || onlyMoves(n.op)));
  return { pos, nPositions, symbol, kinds, frontier };
}

export function tabulatePositions(g: Graph): Graph {
  const found = positionalValues(g);
  if (!found) return g;
  const { pos, nPositions, symbol, frontier } = found;
  const tables = new Map<number, RefTensor>();
  for (const { value: f, cone: nodes } of frontier) {
    if (nPositions * size(f.type.shape.slice(1) as number[]) > MAX_TABLE_ELEMENTS) continue;
    const ramp: RefTensor = { dtype: 'i32', shape: [nPositions], data: Int32Array.from({ length: nPositions }, (_, i) => i) };
    const values = evaluateNodes(nodes, new Map([[pos.id, ramp]]), new Map([[symbol, nPositions]]));
    tables.set(f.id, values.get(f.id)!);
  }
  if (tables.size === 0) return g;

  const rw = new Rewriter(g);
  for (const n of g.nodes) {
    const table = tables.get(n.id);
    if (!table) {
      rw.keep(n);
      continue;
    }
    const what = n.hint ?? n.op;
    const t = rw.add('const', [], constAttrsOf(table), `${what} table`);
    rw.replace(n.id, rw.add('gather', [t, pos.id], {}, `${what} by position`));
  }
  return rw.finish();
}
