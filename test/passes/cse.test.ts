import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/graph.ts';
import { eliminateCommonSubexpressions } from '../../src/passes/cse.ts';
import { eliminateDeadCode } from '../../src/passes/dce.ts';
import { compileSpec, countOps, randomIds, randomWeights, runReference, SMALL } from './fixtures.ts';

describe('cse', () => {
  it('merges equal pure nodes but never sources, and compares tensor constants in full', () => {
    const b = new GraphBuilder();
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [2] });
    const x2 = b.add('input', [], { name: 'x2', dtype: 'f32', shape: [2] });
    const c1 = b.add('const', [], { dtype: 'f32', value: 2 });
    const c2 = b.add('const', [], { dtype: 'f32', value: 2 });
    const big = (last: number) => b.add('const', [], { dtype: 'f32', shape: [100], data: Array.from({ length: 100 }, (_, i) => (i === 99 ? last : i)) });
    const [t1, t2, t3] = [big(1), big(1), big(2)];
    const a1 = b.add('mul', [x, c1]);
    const a2 = b.add('mul', [x, c2]);
    const a3 = b.add('mul', [x2, c2]);
    const g = b.finish('t', [], [a1, a2, a3, t1, t2, t3].map((id, i) => ({ name: `o${i}`, id })), {});
    const out = eliminateDeadCode(eliminateCommonSubexpressions(g));
    const ids = out.outputs.map((o) => o.id);
    expect(ids[0]).toBe(ids[1]); // same input, equal constant
    expect(ids[2]).not.toBe(ids[0]); // a different input is a different value
    expect(ids[3]).toBe(ids[4]);
    expect(ids[5]).not.toBe(ids[3]);
    expect(countOps(out, 'input')).toBe(2);
  });

  it('merges the rope frequencies of q, k and every layer of gp into one cos and one sin', () => {
    const g = compileSpec('gp');
    expect(countOps(g, 'cos')).toBe(2 * SMALL.n_layer);
    const out = eliminateDeadCode(eliminateCommonSubexpressions(g));
    expect(countOps(out, 'cos')).toBe(1);
    expect(countOps(out, 'sin')).toBe(1);
    expect(countOps(out, 'param')).toBe(countOps(g, 'param'));
    const w = randomWeights(g);
    const ids = randomIds(10, SMALL.vocab_size);
    expect(runReference(out, w, ids, 2, 5).get('logits')!.data).toEqual(runReference(g, w, ids, 2, 5).get('logits')!.data);
  });

  it('keeps per-layer learnable frequencies apart (lr-norm: q and k share, layers do not)', () => {
    const out = eliminateCommonSubexpressions(compileSpec('lr-norm'));
    expect(countOps(eliminateDeadCode(out), 'cos')).toBe(SMALL.n_layer);
  });
});
