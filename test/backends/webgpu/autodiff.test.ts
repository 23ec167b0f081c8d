// The backward graph autodiff builds (src/passes/autodiff.ts) is a graph like any other: the
// WebGPU backend compiles and runs it on SwiftShader, and its gradients match the f64
// reference interpreter's (which test/passes/autodiff.test.ts checks against finite differences).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/ir/graph.ts';
import { gradients } from '../../../src/passes/autodiff.ts';
import { Rng } from '../../../src/io/rng.ts';
import { gpuVsReference, useDevice } from './helpers.ts';

useDevice();

describe('autodiff on WebGPU', () => {
  it('the gradients of a LayerNorm -> matmul -> rotation by learned angles -> softmax block match the reference', async () => {
    const b = new GraphBuilder();
    const shapes: Record<string, number[]> = { x: [2, 4, 8], w: [8], bias: [8], proj: [8, 8], freq: [4] };
    const p = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, b.add('param', [], { name, dtype: 'f32', shape, init: { kind: 'zeros' } })]));
    const h = b.add('matmul', [b.add('layer_norm', [p.x, p.w, p.bias], { eps: 1e-5 }), p.proj]);
    const pos = b.add('cast', [b.add('iota', [], { length: 4 })], { to: 'f32' });
    const angle = b.add('mul', [b.add('reshape', [pos], { shape: [4, 1] }), p.freq]);
    const rotated = b.add('rope', [h, b.add('cos', [angle]), b.add('sin', [angle])]);
    const y = b.add('softmax', [rotated], { axis: -1 });
    const flat = b.add('reshape', [b.add('mul', [y, y])], { shape: [64] });
    const loss = b.add('sum', [flat], { axis: 0, keepdims: false });
    const graph = gradients(b.finish('grad', [], [{ name: 'loss', id: loss }], {}), { loss: 'loss' });
    const rng = new Rng(5);
    const weights = new Map(Object.entries(shapes).map(([name, shape]) => [name, Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => 2 * rng.uniform() - 1)]));
    const errors = await gpuVsReference(graph, [{}], { bounds: {}, weights });
    expect(Object.keys(errors).sort()).toEqual(['grad.bias', 'grad.freq', 'grad.proj', 'grad.w', 'grad.x', 'loss']);
    for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(1e-4);
  });
});
