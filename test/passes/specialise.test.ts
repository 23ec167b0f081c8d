// specialise binds symbolic dims everywhere a graph holds them: input shapes, reshape targets,
// slice bounds; types follow, and the graph computes what it did at those sizes.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/graph.ts';
import { dimSub, sym } from '../../src/ir/dims.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { specialise } from '../../src/passes/specialise.ts';

describe('specialise', () => {
  it('binds B and S in shapes and attributes, leaving other symbols', () => {
    const b = new GraphBuilder();
    const [B, S, P] = [sym('B'), sym('S'), sym('P')];
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [B, S] });
    const y = b.add('input', [], { name: 'y', dtype: 'f32', shape: [P] });
    const head = b.add('slice', [x], { axis: 1, start: 0, end: dimSub(S, 1) });
    const flat = b.add('reshape', [head], { shape: [b.type(head).shape[0], dimSub(S, 1)] });
    const g = b.finish('t', ['B', 'S', 'P'], [{ name: 'flat', id: flat }, { name: 'y', id: y }], {});
    const s = specialise(g, new Map([['B', 2], ['S', 4]]));
    expect(s.symbols).toEqual(['P']);
    expect(s.nodes.find((n) => n.id === flat)!.type.shape).toEqual([2, 3]);
    expect(s.nodes.find((n) => n.id === head)!.attrs.end).toBe(3);
    expect(s.nodes.find((n) => n.id === y)!.type.shape).toEqual([P]);
    const data = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const out = interpret(s, { inputs: new Map([['x', { dtype: 'f32', shape: [2, 4], data }], ['y', { dtype: 'f32', shape: [1], data: Float32Array.of(0) }]]), params: new Map() });
    expect(Array.from(out.get('flat')!.data)).toEqual([1, 2, 3, 5, 6, 7]);
  });
});
