// Reverse-mode autodiff (src/passes/autodiff.ts with each op's vjp): for every op with a
// gradient rule, and for compositions of them, the gradients the backward graph computes (the
// reference interpreter in f64) against central finite differences of the forward graph.

import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../src/ir/graph.ts';
import type { Dim } from '../../src/ir/dims.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { gradOutputName, gradients } from '../../src/passes/autodiff.ts';
import { Rng } from '../../src/io/rng.ts';
import { RhcError } from '../../src/errors.ts';

type Build = (b: GraphBuilder, p: (name: string, shape: number[]) => number) => number;

/** A graph whose loss is sum(f(params) * R), R fixed random weights, so every output element counts differently. */
function lossGraph(build: Build, seed: number): { graph: Graph; shapes: Map<string, number[]> } {
  const b = new GraphBuilder();
  const shapes = new Map<string, number[]>();
  const p = (name: string, shape: number[]) => {
    shapes.set(name, shape);
    return b.add('param', [], { name, dtype: 'f32', shape, init: { kind: 'zeros' } });
  };
  const y = build(b, p);
  const shape = b.type(y).shape as number[];
  const n = shape.reduce((a, d) => a * d, 1);
  const rng = new Rng(seed);
  const r = b.add('const', [], { dtype: 'f32', shape, data: Array.from({ length: n }, () => 2 * rng.uniform() - 1) });
  const flat = b.add('reshape', [b.add('mul', [y, r])], { shape: [n] });
  const loss = b.add('sum', [flat], { axis: 0, keepdims: false });
  return { graph: b.finish('grad-test', [], [{ name: 'loss', id: loss }], {}), shapes };
}

function run(g: Graph, params: Map<string, RefTensor>): Map<string, RefTensor> {
  return interpret(g, { precision: 'f64', inputs: new Map(), params });
}

/** Max over parameters of |autodiff - finite difference| / max(1, |finite difference|). */
function gradientError(build: Build, seed: number, range: [number, number] = [-1, 1]): number {
  const { graph, shapes } = lossGraph(build, seed);
  const rng = new Rng(seed + 1);
  const params = new Map<string, RefTensor>();
  for (const [name, shape] of shapes) {
    const data = new Float64Array(shape.reduce((a, d) => a * d, 1));
    for (let i = 0; i < data.length; i++) data[i] = range[0] + (range[1] - range[0]) * rng.uniform();
    params.set(name, { dtype: 'f32', shape, data });
  }
  const backward = gradients(graph, { loss: 'loss' });
  const got = run(backward, params);
  const h = 1e-6;
  let worst = 0;
  for (const [name, t] of params) {
    const grad = got.get(gradOutputName(name))!;
    expect(grad.shape).toEqual(t.shape);
    for (let i = 0; i < t.data.length; i++) {
      const x0 = t.data[i];
      t.data[i] = x0 + h;
      const up = run(graph, params).get('loss')!.data[0];
      t.data[i] = x0 - h;
      const down = run(graph, params).get('loss')!.data[0];
      t.data[i] = x0;
      const fd = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(grad.data[i] - fd) / Math.max(1, Math.abs(fd)));
    }
  }
  return worst;
}

const TOL = 1e-6;
const unary = (op: string) => (b: GraphBuilder, p: (n: string, s: number[]) => number) => b.add(op as never, [p('x', [2, 3])]);
const binary = (op: string, sa: number[], sb: number[]) => (b: GraphBuilder, p: (n: string, s: number[]) => number) => b.add(op as never, [p('a', sa), p('b', sb)]);

describe('gradient rules against finite differences (f64)', () => {
  it.each(['neg', 'exp', 'tanh', 'erf', 'sin', 'cos'])('%s', (op) => {
    expect(gradientError(unary(op), 1)).toBeLessThan(TOL);
  });
  it.each(['log', 'sqrt'])('%s (positive inputs)', (op) => {
    expect(gradientError(unary(op), 2, [0.5, 2])).toBeLessThan(TOL);
  });
  it.each(['add', 'sub', 'mul', 'div'])('%s, with broadcasting on both sides', (op) => {
    expect(gradientError(binary(op, [2, 1, 3], [4, 1]), 3, [0.5, 2])).toBeLessThan(TOL);
  });
  it('pow (both operands)', () => {
    expect(gradientError(binary('pow', [2, 3], [3]), 4, [0.5, 2])).toBeLessThan(TOL);
  });
  it.each([[0, false], [1, true], [-1, false]] as const)('sum and mean over axis %i (keepdims %s)', (axis, keepdims) => {
    expect(gradientError((b, p) => b.add('sum', [p('x', [2, 3, 4])], { axis, keepdims }), 5)).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('mean', [p('x', [2, 3, 4])], { axis, keepdims }), 6)).toBeLessThan(TOL);
  });
  it('reshape, transpose, broadcast, slice, concat', () => {
    expect(gradientError((b, p) => b.add('reshape', [p('x', [2, 6])], { shape: [3, 4] }), 7)).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('transpose', [p('x', [2, 3, 4])], { perm: [2, 0, 1] }), 8)).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('broadcast', [p('x', [3, 1])], { shape: [2, 3, 4] }), 9)).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('slice', [p('x', [2, 7])], { axis: 1, start: 2, end: 5 }), 10)).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('slice', [p('x', [5, 2])], { axis: 0, start: 0, end: 3 }), 11)).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('concat', [p('a', [2, 3]), p('b', [2, 1]), p('c', [2, 2])], { axis: -1 }), 12)).toBeLessThan(TOL);
  });
  it('matmul: plain, batched, and with a broadcast batch', () => {
    expect(gradientError(binary('matmul', [3, 4], [4, 2]), 13)).toBeLessThan(TOL);
    expect(gradientError(binary('matmul', [2, 3, 4], [2, 4, 5]), 14)).toBeLessThan(TOL);
    expect(gradientError(binary('matmul', [2, 2, 3, 4], [4, 5]), 15)).toBeLessThan(TOL);
    expect(gradientError(binary('matmul', [2, 3, 4], [4, 9]), 16)).toBeLessThan(TOL); // wide B: (dy^T a)^T
  });
  it('a matrix shared by a batch (a weight) gets its gradient from one product over the flattened batch, nothing summed', () => {
    for (const [a, w] of [[[2, 3, 4], [4, 5]], [[2, 3, 4], [4, 9]]]) {
      const { graph } = lossGraph(binary('matmul', a, w), 17);
      const backward = gradients(graph, { loss: 'loss' });
      // no [2, 4, N]-shaped per-sequence gradient of w, and no sum over the batch axis
      expect(backward.nodes.some((n) => n.type.shape.length === 3 && n.type.shape[0] === 2 && n.op === 'matmul' && n.type.shape.slice(1).join() === w.join()), `${w}`).toBe(false);
      expect(backward.nodes.filter((n) => n.op === 'sum' && n.attrs.axis === 0 && n.type.shape.join() === w.join()), `${w}`).toHaveLength(0);
    }
  });
  it('softmax along the last and a middle axis', () => {
    expect(gradientError((b, p) => b.add('softmax', [p('x', [2, 5])], { axis: -1 }), 16, [-3, 3])).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('softmax', [p('x', [2, 4, 3])], { axis: 1 }), 17, [-3, 3])).toBeLessThan(TOL);
  });
  it('layer_norm: x, weight and bias', () => {
    expect(gradientError((b, p) => b.add('layer_norm', [p('x', [3, 6]), p('w', [6]), p('bias', [6])], { eps: 1e-5 }), 18)).toBeLessThan(TOL);
  });
  it('rope: x and the cos and sin it rotates by (broadcast over heads), as LR frequencies need', () => {
    expect(gradientError((b, p) => b.add('rope', [p('x', [2, 3, 4, 6]), p('c', [3, 1, 3]), p('s', [3, 1, 3])]), 19)).toBeLessThan(TOL);
  });
  it.each(['max', 'min'])('%s (operands apart, broadcast), and abs away from 0', (op) => {
    expect(gradientError(binary(op, [2, 1, 3], [4, 1]), 25)).toBeLessThan(TOL);
    expect(gradientError(unary('abs'), 26)).toBeLessThan(TOL);
  });
  it('max and min split the gradient of a tie evenly, as PyTorch does', () => {
    const b = new GraphBuilder();
    const x = b.add('param', [], { name: 'x', dtype: 'f32', shape: [2], init: { kind: 'zeros' } });
    const y = b.add('param', [], { name: 'y', dtype: 'f32', shape: [2], init: { kind: 'zeros' } });
    const loss = b.add('sum', [b.add('max', [x, y])], { axis: 0, keepdims: false });
    const got = run(gradients(b.finish('tie', [], [{ name: 'loss', id: loss }], {}), { loss: 'loss' }), new Map([
      ['x', { dtype: 'f32', shape: [2], data: Float64Array.of(1, 5) }], ['y', { dtype: 'f32', shape: [2], data: Float64Array.of(1, 2) }],
    ]));
    expect(Array.from(got.get('grad.x')!.data)).toEqual([0.5, 1]);
    expect(Array.from(got.get('grad.y')!.data)).toEqual([0.5, 0]);
  });
  it('max_reduce over an axis', () => {
    expect(gradientError((b, p) => b.add('max_reduce', [p('x', [3, 4])], { axis: 1, keepdims: false }), 27)).toBeLessThan(TOL);
    expect(gradientError((b, p) => b.add('max_reduce', [p('x', [3, 4])], { axis: 0, keepdims: true }), 28)).toBeLessThan(TOL);
  });
  it('gather with repeated ids: their rows accumulate (scatter_add)', () => {
    expect(gradientError((b, p) => {
      const ids = b.add('const', [], { dtype: 'i32', shape: [2, 3], data: [0, 2, 2, 4, 0, 1] });
      return b.add('gather', [p('table', [5, 3]), ids]);
    }, 29)).toBeLessThan(TOL);
  });
  it('cross_entropy of a batch of rows, and an embedding -> matmul -> cross_entropy chain', () => {
    const labels = (b: GraphBuilder, data: number[]) => b.add('const', [], { dtype: 'i32', shape: [data.length], data });
    expect(gradientError((b, p) => b.add('cross_entropy', [p('logits', [4, 6]), labels(b, [0, 5, 2, 2])]), 30, [-3, 3])).toBeLessThan(TOL);
    expect(gradientError((b, p) => {
      const ids = b.add('const', [], { dtype: 'i32', shape: [5], data: [1, 3, 3, 0, 2] });
      const h = b.add('gather', [p('wte', [4, 3]), ids]);
      const logits = b.add('matmul', [h, p('head', [3, 4])]);
      return b.add('mean', [b.add('cross_entropy', [logits, labels(b, [3, 3, 0, 2, 1])])], { axis: 0, keepdims: true });
    }, 31)).toBeLessThan(TOL);
  });
  describe('attention (recomputed from the row log-sum-exp)', () => {
    const attention = (lead: number[], sq: number, sk: number, d: number, dv: number, causal: boolean) => (b: GraphBuilder, p: (n: string, s: number[]) => number) =>
      b.add('attention', [p('q', [...lead, sq, d]), p('k', [...lead, sk, d]), p('v', [...lead, sk, dv])], { scale: 1 / Math.sqrt(d), causal });
    // scores of several units (inputs in [-2, 2]), so the softmax is far from uniform
    const wide: [number, number] = [-2, 2];
    it.each([
      ['non-causal, batch and heads', [2, 2], 4, 4, 4, 4, false],
      ['causal, batch and heads', [2, 2], 4, 4, 4, 4, true],
      ['causal with Sq < Sk (a KV-cache offset), Dv != D', [2, 2], 3, 5, 4, 3, true],
      ['non-causal with Sq < Sk', [3], 2, 5, 3, 2, false],
      ['non-causal with Sq > Sk, no leading dims', [], 5, 3, 2, 4, false],
    ] as const)('q, k and v: %s', (_, lead, sq, sk, d, dv, causal) => {
      expect(gradientError(attention([...lead], sq, sk, d, dv, causal), 30 + sq + sk, wide)).toBeLessThan(TOL);
    });
    it('only some inputs vary: q alone, v alone, k and v alone (the others constants)', () => {
      const fixed = (b: GraphBuilder, shape: number[], seed: number) => {
        const rng = new Rng(seed);
        return b.add('const', [], { dtype: 'f32', shape, data: Array.from({ length: shape.reduce((a, x) => a * x, 1) }, () => 4 * rng.uniform() - 2) });
      };
      const [lead, q, kv] = [[2, 2], [2, 2, 3, 4], [2, 2, 5, 4]];
      expect(gradientError((b, p) => b.add('attention', [p('q', q), fixed(b, kv, 1), fixed(b, kv, 2)], { scale: 0.5, causal: true }), 40, wide)).toBeLessThan(TOL);
      expect(gradientError((b, p) => b.add('attention', [fixed(b, q, 3), fixed(b, kv, 4), p('v', [...lead, 5, 4])], { scale: 0.5, causal: true }), 41, wide)).toBeLessThan(TOL);
      expect(gradientError((b, p) => b.add('attention', [fixed(b, q, 5), p('k', kv), p('v', kv)], { scale: 0.5, causal: false }), 42, wide)).toBeLessThan(TOL);
    });
    it('self-attention: one value read as q, k and v sums the three gradients', () => {
      expect(gradientError((b, p) => {
        const x = p('x', [2, 4, 4]);
        return b.add('attention', [x, x, x], { scale: 0.5, causal: true });
      }, 43, wide)).toBeLessThan(TOL);
    });
    it('the backward graph holds no [Sq, Sk] (or [Sk, Sq]) tensor', () => {
      const { graph } = lossGraph(attention([2, 2], 3, 5, 4, 2, true), 44);
      const backward = gradients(graph, { loss: 'loss' });
      const ends = backward.nodes.map((n) => n.type.shape.slice(-2).join('x'));
      expect(ends).not.toContain('3x5');
      expect(ends).not.toContain('5x3');
      expect(backward.nodes.filter((n) => n.op === 'attention_grad').map((n) => n.attrs.wrt).sort()).toEqual(['k', 'q', 'v']);
    });
  });
  it('cast f32 -> f32 passes the gradient through', () => {
    expect(gradientError((b, p) => b.add('cast', [p('x', [4])], { to: 'f32' }), 20)).toBeLessThan(TOL);
  });
});

describe('the pass', () => {
  it('sums the gradients of a value read several times, and differentiates through frequencies into cos/sin', () => {
    // x * x + sin(x * w) with x read four times; a rotation by learned angles, LR-style
    expect(gradientError((b, p) => {
      const x = p('x', [2, 3]);
      const w = p('w', [3]);
      return b.add('add', [b.add('mul', [x, x]), b.add('sin', [b.add('mul', [x, w])])]);
    }, 21)).toBeLessThan(TOL);
    expect(gradientError((b, p) => {
      const q = p('q', [4, 2, 6]);
      const freq = p('freq', [2, 3]);
      const pos = b.add('cast', [b.add('iota', [], { length: 4 })], { to: 'f32' });
      const angle = b.add('mul', [b.add('reshape', [pos], { shape: [4, 1, 1] }), freq]);
      return b.add('rope', [q, b.add('cos', [angle]), b.add('sin', [angle])]);
    }, 22)).toBeLessThan(TOL);
  });

  it('gives zeros to a parameter the loss does not read, and refuses what it cannot differentiate', () => {
    const { graph } = lossGraph((b, p) => {
      p('unused', [2]);
      return b.add('exp', [p('x', [3])]);
    }, 23);
    const out = run(gradients(graph, { loss: 'loss' }), new Map([['x', { dtype: 'f32', shape: [3], data: new Float64Array(3) }], ['unused', { dtype: 'f32', shape: [2], data: new Float64Array([5, 6]) }]]));
    expect(Array.from(out.get('grad.unused')!.data)).toEqual([0, 0]);
    expect(() => gradients(graph, { loss: 'nope' })).toThrow(RhcError);
    expect(() => gradients(graph, { loss: 'loss', params: ['w'] })).toThrow(/no float parameter named 'w'/);
    const { graph: lseGraph } = lossGraph((b, p) => b.add('attention_lse', [p('q', [2, 3]), p('k', [2, 3])], { scale: 1, causal: true }), 24);
    expect(() => gradients(lseGraph, { loss: 'loss' })).toThrow(/op attention_lse .* has no gradient rule yet/);
  });
});
