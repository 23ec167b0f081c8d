import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/graph.ts';
import { sym } from '../../src/ir/dims.ts';
import { foldConstants } from '../../src/passes/fold-constants.ts';
import { eliminateDeadCode } from '../../src/passes/dce.ts';
import { eliminateCommonSubexpressions } from '../../src/passes/cse.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { compileSpec, countOps, randomIds, randomWeights, relativeError, runReference, SMALL } from './fixtures.ts';

const fold = (g: Parameters<typeof foldConstants>[0]) => eliminateDeadCode(eliminateCommonSubexpressions(foldConstants(g)));

describe('fold-constants', () => {
  it('evaluates pure subgraphs of constants into tensor constants, leaving inputs and parameters', () => {
    const b = new GraphBuilder();
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [sym('N'), 3] });
    const ramp = b.add('cast', [b.add('iota', [], { length: 3 })], { to: 'f32' });
    const scaled = b.add('mul', [ramp, b.add('const', [], { dtype: 'f32', value: 0.5 })]);
    const e = b.add('exp', [scaled]);
    const sym_iota = b.add('iota', [], { length: sym('N') }); // run-time length: stays
    const y = b.add('add', [x, e]);
    const g = b.finish('t', ['N'], [{ name: 'y', id: y }, { name: 'n', id: sym_iota }], {});
    const out = fold(g);
    expect(out.nodes.map((n) => n.op)).toEqual(['input', 'const', 'iota', 'add']);
    const c = out.nodes[1];
    expect(c.attrs).toMatchObject({ dtype: 'f32', shape: [3] });
    expect(c.attrs.data).toEqual([0, 1, 2].map((i) => Math.exp(i * 0.5)));
    const inputs = new Map([['x', { dtype: 'f32' as const, shape: [2, 3], data: Float64Array.from([1, 2, 3, 4, 5, 6]) }]]);
    const run = (h: typeof g) => interpret(h, { inputs, params: new Map(), precision: 'f64' }).get('y')!.data;
    expect(run(out)).toEqual(run(g));
  });

  it('checks tensor constants: shape against data, integers for i32', () => {
    const b = new GraphBuilder();
    expect(b.type(b.add('const', [], { dtype: 'i32', shape: [2, 2], data: [1, 2, 3, 4] }))).toEqual({ dtype: 'i32', shape: [2, 2] });
    expect(() => b.add('const', [], { dtype: 'f32', shape: [3], data: [1, 2] })).toThrow(/2 values for shape \[3\]/);
    expect(() => b.add('const', [], { dtype: 'i32', shape: [1], data: [0.5] })).toThrow(/0.5 is not an integer/);
    expect(b.type(b.add('const', [], { dtype: 'f32', value: -Infinity }))).toEqual({ dtype: 'f32', shape: [] });
  });

  it('folds the GP frequencies to exp(h/(H-1)) * base^(-2i/D), but not learnable ones', () => {
    const g = fold(compileSpec('gp'));
    for (const op of ['iota', 'exp', 'pow', 'div']) expect(countOps(g, op)).toBe(0);
    const H = SMALL.n_head;
    const D = SMALL.n_embd / H;
    const freq = g.nodes.find((n) => n.op === 'const' && String(n.attrs.shape) === String([H, D / 2]))!;
    const want = Array.from({ length: H * (D / 2) }, (_, k) => Math.exp(Math.floor(k / (D / 2)) / (H - 1)) * 10000 ** (-(2 * (k % (D / 2))) / D));
    expect(relativeError(freq.attrs.data as number[], want)).toBeLessThan(1e-15);
    // lr-norm's frequencies go through a LayerNorm with learnable weights: still computed.
    expect(countOps(fold(compileSpec('lr-norm')), 'layer_norm')).toBe(1 + 3 * SMALL.n_layer);
  });

  it('keeps every model\'s logits (f64 oracle)', () => {
    for (const spec of ['gp', 'gp-norm', 'rope'] as const) {
      const g = compileSpec(spec);
      const w = randomWeights(g);
      const ids = randomIds(8, SMALL.vocab_size);
      const before = runReference(g, w, ids, 2, 4).get('logits')!.data;
      const after = runReference(fold(g), w, ids, 2, 4).get('logits')!.data;
      expect(relativeError(after, before)).toBeLessThan(1e-12);
    }
  });
});
