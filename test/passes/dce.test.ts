import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/graph.ts';
import { sym } from '../../src/ir/dims.ts';
import { eliminateDeadCode } from '../../src/passes/dce.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { compileSpec, randomIds, randomWeights, runReference } from './fixtures.ts';

describe('dce', () => {
  it('drops nodes no output reads, keeps inputs, and leaves results alone', () => {
    const b = new GraphBuilder();
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [sym('N')] });
    b.add('input', [], { name: 'unused', dtype: 'f32', shape: [2] });
    const w = b.add('param', [], { name: 'w', dtype: 'f32', shape: [1], init: { kind: 'ones' } });
    b.add('param', [], { name: 'dead_param', dtype: 'f32', shape: [1], init: { kind: 'ones' } });
    const dead = b.add('exp', [x]);
    b.add('neg', [dead]);
    const y = b.add('mul', [x, w]);
    const g = b.finish('t', ['N'], [{ name: 'y', id: y }], {});
    const out = eliminateDeadCode(g);
    expect(out.nodes.map((n) => n.op)).toEqual(['input', 'input', 'param', 'mul']);
    const inputs = new Map([['x', { dtype: 'f32' as const, shape: [3], data: Float64Array.from([1, 2, 3]) }], ['unused', { dtype: 'f32' as const, shape: [2], data: new Float64Array(2) }]]);
    const params = new Map([['w', { dtype: 'f32' as const, shape: [1], data: Float64Array.from([2]) }]]);
    expect(Array.from(interpret(out, { inputs, params, precision: 'f64' }).get('y')!.data)).toEqual([2, 4, 6]);
  });

  it('returns the same graph when nothing is dead, and is idempotent on a model', () => {
    const g = compileSpec('lr');
    const once = eliminateDeadCode(g);
    expect(eliminateDeadCode(once)).toBe(once);
    const w = randomWeights(g);
    const ids = randomIds(6, 97);
    expect(runReference(once, w, ids, 2, 3).get('logits')!.data).toEqual(runReference(g, w, ids, 2, 3).get('logits')!.data);
  });
});
