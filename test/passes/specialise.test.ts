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

  it('turns a reduction over an axis that became 1 into a reshape, with the same values', () => {
    const b = new GraphBuilder();
    const B = sym('B');
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [B, 2, 3] });
    const summed = b.add('sum', [x], { axis: 0, keepdims: false });
    const kept = b.add('max_reduce', [x], { axis: 0, keepdims: true });
    const over2 = b.add('sum', [x], { axis: 1, keepdims: false });
    const g = b.finish('t', ['B'], [{ name: 'summed', id: summed }, { name: 'kept', id: kept }, { name: 'over2', id: over2 }], {});
    const s = specialise(g, new Map([['B', 1]]));
    const op = (id: number) => s.nodes.find((n) => n.id === id)!;
    expect([op(summed).op, op(kept).op, op(over2).op]).toEqual(['reshape', 'reshape', 'sum']);
    expect(op(summed).type.shape).toEqual([2, 3]);
    expect(op(kept).type.shape).toEqual([1, 2, 3]);
    const data = Float32Array.from([1, -2, 3, 4, 5, -6]);
    const out = interpret(s, { inputs: new Map([['x', { dtype: 'f32', shape: [1, 2, 3], data }]]), params: new Map() });
    expect(Array.from(out.get('summed')!.data)).toEqual([1, -2, 3, 4, 5, -6]);
    expect(Array.from(out.get('kept')!.data)).toEqual([1, -2, 3, 4, 5, -6]);
    expect(Array.from(out.get('over2')!.data)).toEqual([5, 3, -3]);
    // at B = 2 the sum stays a sum
    expect(specialise(g, new Map([['B', 2]])).nodes.find((n) => n.id === summed)!.op).toBe('sum');
  });
});
