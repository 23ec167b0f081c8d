// position-tables: every variant's cos/sin become a gather of one [n_positions, 2, H, D/2] table
// (cos and sin stacked) built in the graph from an iota and the (parameter or constant)
// frequencies; the tables read no input, and the logits are those of the graph without them.

import { describe, expect, it } from 'vitest';
import { nodeMap, type Graph } from '../../src/ir/graph.ts';
import { positionTables } from '../../src/passes/position-tables.ts';
import { runPipeline } from '../../src/passes/pipeline.ts';
import { eliminateDeadCode } from '../../src/passes/dce.ts';
import { compileSpec, countOps, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from './fixtures.ts';

/** Ids of the nodes that read no graph input, directly or not. */
function inputFree(g: Graph): Set<number> {
  const free = new Set<number>();
  for (const n of g.nodes) if (n.op !== 'input' && n.inputs.every((i) => free.has(i))) free.add(n.id);
  return free;
}

const HALF = SMALL.n_embd / SMALL.n_head / 2;

describe('position-tables', () => {
  it.each(SPECS.filter((s) => s !== 'gpt2-abs'))('%s: cos and sin become gathers of tables that read no input, with the same logits', (spec) => {
    const g = runPipeline(compileSpec(spec), ['cse', 'fold-constants', 'cse', 'dce']);
    const { graph, bytes, tables } = positionTables(g);
    const out = eliminateDeadCode(graph);
    const free = inputFree(out);
    const byId = nodeMap(out);
    // cos and sin, shared by q and k, in one table; fixed frequencies are one table for every layer (CSE), learned ones a table per layer
    const perLayer = spec === 'lr' || spec === 'lr-norm' || spec === 'gp-norm';
    expect(tables).toBe(perLayer ? SMALL.n_layer : 1);
    expect(bytes).toBe(2 * tables * SMALL.n_positions * SMALL.n_head * HALF * 4);
    // each table stacks cos at 0 and sin at 1 of axis 1, read back by one gather per table
    const stacked = out.nodes.filter((n) => n.op === 'concat' && free.has(n.id));
    expect(stacked).toHaveLength(tables);
    for (const t of stacked) {
      expect(t.type.shape).toEqual([SMALL.n_positions, 2, SMALL.n_head, HALF]);
      expect(t.inputs.map((i) => byId.get(byId.get(i)!.inputs[0])!.op)).toEqual(['cos', 'sin']);
    }
    for (const n of out.nodes.filter((x) => x.op === 'cos' || x.op === 'sin')) {
      expect(free.has(n.id), `${n.op} %${n.id} reads an input`).toBe(true);
      expect(n.type.shape).toEqual([SMALL.n_positions, SMALL.n_head, HALF]);
    }
    const gathers = out.nodes.filter((n) => n.op === 'gather' && byId.get(n.inputs[0])!.op !== 'param');
    expect(gathers).toHaveLength(tables);
    const w = randomWeights(out, 3);
    const ids = randomIds(10, SMALL.vocab_size, 4);
    expect(relativeError(runReference(out, w, ids, 2, 5).get('logits')!.data, runReference(g, w, ids, 2, 5).get('logits')!.data)).toBeLessThan(1e-6);
  });

  it.each(['gp', 'gp-norm'] as const)('%s: over the budget builds no table, says how much it would have taken, and stacks cos and sin per forward', (spec) => {
    const g = runPipeline(compileSpec(spec), ['cse', 'fold-constants', 'cse', 'dce']);
    const r = positionTables(g, 1000);
    const pairs = spec === 'gp' ? 1 : SMALL.n_layer;
    expect(r.tables).toBe(0);
    expect(r.bytes).toBe(0);
    expect(r.overBudget).toBe(2 * pairs * SMALL.n_positions * SMALL.n_head * HALF * 4);
    const out = eliminateDeadCode(r.graph);
    expect(countOps(out, 'iota')).toBe(countOps(g, 'iota')); // no table over positions
    const free = inputFree(out);
    const stacks = out.nodes.filter((n) => n.op === 'concat' && n.type.shape.length === 4 && n.type.shape[1] === 2);
    expect(stacks).toHaveLength(pairs);
    for (const t of stacks) {
      expect(free.has(t.id)).toBe(false); // computed from pos, per forward
      expect(t.type.shape.slice(2)).toEqual([SMALL.n_head, HALF]);
    }
    const w = randomWeights(out, 3);
    const ids = randomIds(10, SMALL.vocab_size, 4);
    expect(relativeError(runReference(out, w, ids, 2, 5).get('logits')!.data, runReference(g, w, ids, 2, 5).get('logits')!.data)).toBeLessThan(1e-6);
  });

  it('leaves a model without rotary positions alone', () => {
    const g = runPipeline(compileSpec('gpt2-abs'), ['cse', 'fold-constants', 'cse', 'dce']);
    expect(positionTables(g).tables).toBe(0);
    expect(countOps(positionTables(g).graph, 'iota')).toBe(countOps(g, 'iota'));
  });
});
