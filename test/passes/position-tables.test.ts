// position-tables: every variant's cos/sin become gathers of [n_positions, H, D/2] tables built
// in the graph from an iota and the (parameter or constant) frequencies; the tables read no
// input, and the logits are those of the graph without them.

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
    // cos and sin, shared by q and k; fixed frequencies are one pair for every layer (CSE), learned ones a pair per layer
    const perLayer = spec === 'lr' || spec === 'lr-norm' || spec === 'gp-norm';
    expect(tables).toBe(2 * (perLayer ? SMALL.n_layer : 1));
    expect(bytes).toBe(tables * SMALL.n_positions * SMALL.n_head * HALF * 4);
    const free = inputFree(out);
    const byId = nodeMap(out);
    for (const n of out.nodes.filter((x) => x.op === 'cos' || x.op === 'sin')) {
      expect(free.has(n.id), `${n.op} %${n.id} reads an input`).toBe(true);
      expect(n.type.shape).toEqual([SMALL.n_positions, SMALL.n_head, HALF]);
    }
    const gathers = out.nodes.filter((n) => n.op === 'gather' && byId.get(n.inputs[0])!.op !== 'param');
    expect(gathers.length).toBeGreaterThanOrEqual(2);
    const w = randomWeights(out, 3);
    const ids = randomIds(10, SMALL.vocab_size, 4);
    expect(relativeError(runReference(out, w, ids, 2, 5).get('logits')!.data, runReference(g, w, ids, 2, 5).get('logits')!.data)).toBeLessThan(1e-6);
  });

  it('builds nothing over the budget and says how much it would have taken', () => {
    const g = runPipeline(compileSpec('gp'), ['cse', 'fold-constants', 'cse', 'dce']);
    const r = positionTables(g, 1000);
    expect(r.graph).toBe(g);
    expect(r.tables).toBe(0);
    expect(r.overBudget).toBe(2 * SMALL.n_positions * SMALL.n_head * HALF * 4);
  });

  it('leaves a model without rotary positions alone', () => {
    const g = runPipeline(compileSpec('gpt2-abs'), ['cse', 'fold-constants', 'cse', 'dce']);
    expect(positionTables(g).tables).toBe(0);
    expect(countOps(positionTables(g).graph, 'iota')).toBe(countOps(g, 'iota'));
  });
});
