import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../src/ir/graph.ts';
import { sym } from '../../src/ir/dims.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { tabulatePositions } from '../../src/passes/tabulate-positions.ts';
import { runPipeline } from '../../src/passes/pipeline.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { compileSpec, countOps, FIXED_ROPE, LEARNABLE_ROPE, randomIds, randomWeights, relativeError, runReference, SMALL } from './fixtures.ts';

const S = sym('S');

/** pos [S] -> f(pos) -> consumed by an op with the input x [S, 4], so f(pos) is the frontier. */
function graphOf(build: (b: GraphBuilder, pos: number) => number, nPositions = 16): Graph {
  const b = new GraphBuilder();
  const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [S, 4] });
  const pos = b.add('input', [], { name: 'pos', dtype: 'i32', shape: [S] });
  const y = b.add('mul', [x, build(b, pos)]);
  return b.finish('t', ['S'], [{ name: 'y', id: y }], { n_positions: nPositions });
}

const angles = (b: GraphBuilder, pos: number) => {
  const f = b.add('cast', [b.add('reshape', [pos], { shape: [S, 1] })], { to: 'f32' });
  return b.add('mul', [f, b.add('const', [], { dtype: 'f32', shape: [4], data: [1, 0.5, 0.25, 0.125] })]);
};

function run(g: Graph, positions: number[]): RefTensor {
  const n = positions.length;
  const inputs = new Map<string, RefTensor>([
    ['x', { dtype: 'f32', shape: [n, 4], data: Float64Array.from({ length: 4 * n }, (_, i) => 1 + i / 7) }],
    ['pos', { dtype: 'i32', shape: [n], data: Int32Array.from(positions) }],
  ]);
  return interpret(g, { inputs, params: new Map(), precision: 'f64' }).get('y')!;
}

describe('tabulate-positions', () => {
  it('replaces cos(pos * F) by gather(table[n_positions, ...], pos), for any positions', () => {
    const g = graphOf((b, pos) => b.add('cos', [angles(b, pos)]));
    const out = tabulatePositions(g);
    const table = out.nodes.find((n) => n.op === 'const' && String(n.attrs.shape) === '16,4');
    expect(table).toBeDefined();
    expect(out.nodes.some((n) => n.op === 'gather' && n.inputs[0] === table!.id)).toBe(true);
    for (const positions of [[0, 1, 2], [5, 2, 9, 15], [7]]) expect(run(out, positions).data).toEqual(run(g, positions).data);
  });

  it('never tabulates across an op that mixes positions or moves the position axis', () => {
    // The angles before such an op are positionwise and may be tabulated; the op itself must stay.
    const mixing: [string, string, (b: GraphBuilder, pos: number) => number][] = [
      ['a sum over positions', 'sum', (b, pos) => b.add('exp', [b.add('sum', [angles(b, pos)], { axis: 0, keepdims: true })])],
      ['a softmax over positions', 'softmax', (b, pos) => b.add('exp', [b.add('softmax', [angles(b, pos)], { axis: 0 })])],
      ['a reshape that moves S', 'reshape', (b, pos) => b.add('exp', [b.add('reshape', [b.add('reshape', [angles(b, pos)], { shape: [4, S] })], { shape: [S, 4] })])],
      ['a transpose that moves S', 'transpose', (b, pos) => b.add('exp', [b.add('transpose', [b.add('transpose', [angles(b, pos)], { perm: [1, 0] })], { perm: [1, 0] })])],
    ];
    for (const [what, op, build] of mixing) {
      const g = graphOf(build);
      const out = tabulatePositions(g);
      expect(countOps(out, 'exp'), what).toBe(1);
      expect(countOps(out, op), what).toBe(countOps(g, op));
      for (const positions of [[0, 1, 2], [5, 2, 9, 15]]) expect(run(out, positions).data, what).toEqual(run(g, positions).data);
    }
  });

  it('leaves parameters, plain position reshapes and graphs without n_positions alone', () => {
    const b = new GraphBuilder();
    const pos = b.add('input', [], { name: 'pos', dtype: 'i32', shape: [S] });
    const f = b.add('param', [], { name: 'f', dtype: 'f32', shape: [4], init: { kind: 'ones' } });
    const cast = b.add('cast', [b.add('reshape', [pos], { shape: [S, 1] })], { to: 'f32' });
    const y = b.add('cos', [b.add('mul', [cast, f])]);
    const g = b.finish('t', ['S'], [{ name: 'y', id: y }], { n_positions: 8 });
    expect(tabulatePositions(g)).toBe(g);
    const noConfig = graphOf((bb, p) => bb.add('cos', [angles(bb, p)]));
    const unconfigured = { ...noConfig, config: {} };
    expect(tabulatePositions(unconfigured)).toBe(unconfigured);
  });

  it('gives fixed variants one [n_positions, H, D/2] cos and sin table and learnable ones none', () => {
    const H = SMALL.n_head;
    const half = SMALL.n_embd / H / 2;
    for (const spec of [...FIXED_ROPE, ...LEARNABLE_ROPE]) {
      const g = runPipeline(compileSpec(spec));
      const tables = g.nodes.filter((n) => n.op === 'const' && String(n.attrs.shape) === String([SMALL.n_positions, H, half]));
      expect(tables.length, spec).toBe(FIXED_ROPE.includes(spec) ? 2 : 0);
      expect(countOps(g, 'cos'), spec).toBe(FIXED_ROPE.includes(spec) ? 0 : SMALL.n_layer);
    }
  });

  it('keeps the logits of the fixed variants (f64 oracle)', () => {
    for (const spec of FIXED_ROPE) {
      const g = compileSpec(spec);
      const w = randomWeights(g);
      const ids = randomIds(14, SMALL.vocab_size);
      const want = runReference(g, w, ids, 2, 7).get('logits')!.data;
      expect(relativeError(runReference(runPipeline(g), w, ids, 2, 7).get('logits')!.data, want)).toBeLessThan(1e-12);
    }
  });
});
