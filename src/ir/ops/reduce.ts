// Reductions over one axis.

import { defineOps, type OpDef } from '../registry.ts';
import { OpTypeError, tensorType, typeToString } from '../types.ts';
import { alloc, normaliseAxis, size } from '../reference.ts';
import { checkAxis, requireFloat } from './common.ts';
import { mul, scalar, type Vjp } from '../vjp.ts';

export interface ReduceAttrs { axis: number; keepdims: boolean }

function reduce(name: string, summary: string, init: number, step: (acc: number, x: number) => number, finish = (acc: number, _n: number) => acc, vjp?: Vjp<ReduceAttrs>): OpDef<ReduceAttrs> {
  return {
    name,
    summary,
    ...(vjp ? { vjp } : {}),
    category: 'reduction',
    arity: [1, 1],
    pure: true,
    inferType: ([x], a) => {
      if (name === 'mean') requireFloat(name, x);
      const ax = checkAxis(name, a.axis, x.shape.length);
      const shape = a.keepdims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
      return tensorType(x.dtype, shape);
    },
    evaluate: ([x], a, env) => {
      const ax = normaliseAxis(a.axis, x.shape.length);
      const outer = size(x.shape.slice(0, ax));
      const n = x.shape[ax];
      const inner = size(x.shape.slice(ax + 1));
      const shape = a.keepdims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
      const out = alloc(x.dtype, shape, env);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          let acc = init;
          for (let k = 0; k < n; k++) acc = step(acc, x.data[(o * n + k) * inner + i]);
          out.data[o * inner + i] = finish(acc, n);
        }
      return out;
    },
  };
}

/** dy spread back over the reduced axis, divided by its length for a mean. */
function spread(mean: boolean): Vjp<ReduceAttrs> {
  return (g, n, dy) => {
    const x = g.type(n.inputs[0]);
    const ax = normaliseAxis(n.attrs.axis, x.shape.length);
    const kept = n.attrs.keepdims ? dy : g.add('reshape', [dy], { shape: x.shape.map((d, i) => (i === ax ? 1 : d)) });
    const dx = g.add('broadcast', [kept], { shape: x.shape });
    if (!mean) return [dx];
    const len = x.shape[ax];
    if (typeof len !== 'number') throw new OpTypeError(`mean: the gradient of a mean over a symbolic axis (${typeToString(x)}, axis ${n.attrs.axis}) is not supported yet`);
    return [mul(g, dx, scalar(g, 1 / len))];
  };
}

/** dy to the elements equal to the maximum, shared evenly among ties (PyTorch's amax rule). */
const toMaxima: Vjp<ReduceAttrs> = (g, n, dy) => {
  const x = g.type(n.inputs[0]);
  const ax = normaliseAxis(n.attrs.axis, x.shape.length);
  const keptShape = x.shape.map((d, i) => (i === ax ? 1 : d));
  const keep = (v: number) => (n.attrs.keepdims ? v : g.add('reshape', [v], { shape: keptShape }));
  const mask = g.add('compare', [n.inputs[0], keep(n.output)], { cmp: 'eq' });
  const ties = g.add('sum', [mask], { axis: ax, keepdims: true });
  return [mul(g, g.add('div', [mask, ties]), keep(dy))];
};

export const reduceOps = defineOps({
  sum: reduce('sum', 'sum over an axis', 0, (acc, x) => acc + x, undefined, spread(false)),
  mean: reduce('mean', 'mean over an axis', 0, (acc, x) => acc + x, (acc, n) => acc / n, spread(true)),
  max_reduce: reduce('max_reduce', 'maximum over an axis', -Infinity, Math.max, undefined, toMaxima),
});
