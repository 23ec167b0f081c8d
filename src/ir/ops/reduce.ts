// Reductions over one axis.

import { defineOps, type OpDef } from '../registry.ts';
import { tensorType } from '../types.ts';
import { alloc, normaliseAxis, size } from '../reference.ts';
import { checkAxis, requireFloat } from './common.ts';

export interface ReduceAttrs { axis: number; keepdims: boolean }

function reduce(name: string, summary: string, init: number, step: (acc: number, x: number) => number, finish = (acc: number, _n: number) => acc): OpDef<ReduceAttrs> {
  return {
    name,
    summary,
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

export const reduceOps = defineOps({
  sum: reduce('sum', 'sum over an axis', 0, (acc, x) => acc + x),
  mean: reduce('mean', 'mean over an axis', 0, (acc, x) => acc + x, (acc, n) => acc / n),
  max_reduce: reduce('max_reduce', 'maximum over an axis', -Infinity, Math.max),
});
