// Normalisations: softmax along an axis, LayerNorm over the last axis.

import { mul, scalar, sub, sumTo } from '../vjp.ts';
import { defineOps } from '../registry.ts';
import { dimEq, shapeToString } from '../dims.ts';
import { OpTypeError, typeToString } from '../types.ts';
import { alloc, normaliseAxis, size } from '../reference.ts';
import { checkAxis, requireFloat, requireRankAtLeast } from './common.ts';

export interface SoftmaxAttrs { axis: number }
export interface LayerNormAttrs { eps: number }

export const normOps = defineOps({
  softmax: {
    name: 'softmax',
    summary: 'exp(x - max) / sum(exp(x - max)) along an axis',
    category: 'composite',
    arity: [1, 1],
    pure: true,
    // y * (dy - sum(dy * y)) along the axis
    vjp: (g, n, dy) => {
      const y = n.output;
      const dot = g.add('sum', [mul(g, dy, y)], { axis: (n.attrs as SoftmaxAttrs).axis, keepdims: true });
      return [mul(g, y, sub(g, dy, dot))];
    },
    inferType: ([x], a: SoftmaxAttrs) => {
      requireFloat('softmax', x);
      checkAxis('softmax', a.axis, x.shape.length);
      return x;
    },
    evaluate: ([x], a: SoftmaxAttrs, env) => {
      const ax = normaliseAxis(a.axis, x.shape.length);
      const outer = size(x.shape.slice(0, ax));
      const n = x.shape[ax];
      const inner = size(x.shape.slice(ax + 1));
      const out = alloc(x.dtype, x.shape, env);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          const at = (k: number) => (o * n + k) * inner + i;
          let m = -Infinity;
          for (let k = 0; k < n; k++) m = Math.max(m, x.data[at(k)]);
          let s = 0;
          for (let k = 0; k < n; k++) s += Math.exp(x.data[at(k)] - m);
          for (let k = 0; k < n; k++) out.data[at(k)] = Math.exp(x.data[at(k)] - m) / s;
        }
      return out;
    },
  },
  layer_norm: {
    name: 'layer_norm',
    summary: '(x - mean) / sqrt(var + eps) * weight + bias over the last axis (biased variance)',
    category: 'composite',
    arity: [3, 3],
    pure: true,
    // With xhat = (x - mean) * inv and g = dy * w: dx = inv * (g - mean(g) - xhat * mean(g * xhat)),
    // dw = sum over rows of dy * xhat, db = sum over rows of dy. mean and inv are recomputed.
    vjp: (g, n, dy) => {
      const [x, w, b] = n.inputs;
      const rowMean = (v: number) => g.add('mean', [v], { axis: -1, keepdims: true });
      const centred = sub(g, x, rowMean(x));
      const variance = rowMean(mul(g, centred, centred));
      const inv = g.add('div', [scalar(g, 1), g.add('sqrt', [g.add('add', [variance, scalar(g, (n.attrs as LayerNormAttrs).eps)])])]);
      const xhat = mul(g, centred, inv);
      const gw = mul(g, dy, w);
      const dx = n.wants(0) ? mul(g, inv, sub(g, sub(g, gw, rowMean(gw)), mul(g, xhat, rowMean(mul(g, gw, xhat))))) : undefined;
      return [dx, n.wants(1) ? sumTo(g, mul(g, dy, xhat), g.type(w).shape) : undefined, n.wants(2) ? sumTo(g, dy, g.type(b).shape) : undefined];
    },
    inferType: ([x, w, b], a: LayerNormAttrs) => {
      requireFloat('layer_norm', x);
      requireRankAtLeast('layer_norm', x, 1, 'x');
      const n = x.shape[x.shape.length - 1];
      for (const [what, t] of [['weight', w], ['bias', b]] as const)
        if (t.dtype !== x.dtype || t.shape.length !== 1 || !dimEq(t.shape[0], n))
          throw new OpTypeError(`layer_norm: ${what} must be ${x.dtype}${shapeToString([n])} to normalise ${typeToString(x)}, got ${typeToString(t)}`);
      if (!(a.eps >= 0)) throw new OpTypeError(`layer_norm: eps must be >= 0, got ${a.eps}`);
      return x;
    },
    evaluate: ([x, w, b], a: LayerNormAttrs, env) => {
      const n = x.shape[x.shape.length - 1];
      const rows = size(x.shape) / n;
      const out = alloc(x.dtype, x.shape, env);
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let mean = 0;
        for (let i = 0; i < n; i++) mean += x.data[o + i];
        mean /= n;
        let v = 0;
        for (let i = 0; i < n; i++) v += (x.data[o + i] - mean) ** 2;
        const inv = 1 / Math.sqrt(v / n + a.eps);
        for (let i = 0; i < n; i++) out.data[o + i] = (x.data[o + i] - mean) * inv * w.data[i] + b.data[i];
      }
      return out;
    },
  },
});
