// The training loss: cross-entropy of logits against integer labels, kept whole so it is
// computed stably (log-sum-exp about the row maximum) and its gradient is the short
// softmax - one_hot; and one_hot, which that gradient (and accuracy) needs.

import { defineOps } from '../registry.ts';
import { isDType } from '../dtypes.ts';
import { dimEq, dimEval, type Dim } from '../dims.ts';
import { OpTypeError, type DType, tensorType, typeToString } from '../types.ts';
import { alloc, size } from '../reference.ts';
import { requireFloat } from './common.ts';
import { mul, sub } from '../vjp.ts';

export interface OneHotAttrs { depth: Dim; dtype: DType }

function labelError(label: number, at: number, classes: number): RangeError {
  return new RangeError(`label ${label} at position ${at} is outside [0, ${classes})`);
}

export const lossOps = defineOps({
  cross_entropy: {
    name: 'cross_entropy',
    summary: 'per row of logits [..., V]: -log softmax(logits)[label], labels [...] i32',
    category: 'composite',
    arity: [2, 2],
    pure: true,
    // (softmax(logits) - one_hot(labels)) * dy, dy broadcast along the class axis
    vjp: (g, n, dy) => {
      const [logits, labels] = n.inputs;
      const t = g.type(logits);
      const r = t.shape.length;
      const p = g.add('softmax', [logits], { axis: -1 });
      const hot = g.add('one_hot', [labels], { depth: t.shape[r - 1], dtype: t.dtype });
      const dyCol = g.add('reshape', [dy], { shape: [...t.shape.slice(0, -1), 1] });
      return [mul(g, sub(g, p, hot), dyCol), undefined];
    },
    inferType: ([logits, labels]) => {
      requireFloat('cross_entropy', logits);
      const r = logits.shape.length;
      if (labels.dtype !== 'i32') throw new OpTypeError(`cross_entropy: labels must be i32, got ${typeToString(labels)}`);
      if (r < 1 || labels.shape.length !== r - 1 || !labels.shape.every((d, i) => dimEq(d, logits.shape[i])))
        throw new OpTypeError(`cross_entropy: logits ${typeToString(logits)} and labels ${typeToString(labels)} must be [..., V] and [...]`);
      return tensorType(logits.dtype, labels.shape);
    },
    evaluate: ([logits, labels], _, env) => {
      const V = logits.shape[logits.shape.length - 1];
      const rows = size(labels.shape);
      const out = alloc(logits.dtype, labels.shape, env);
      for (let i = 0; i < rows; i++) {
        const label = labels.data[i];
        if (label < 0 || label >= V) throw labelError(label, i, V);
        let m = -Infinity;
        for (let c = 0; c < V; c++) m = Math.max(m, logits.data[i * V + c]);
        let s = 0;
        for (let c = 0; c < V; c++) s += Math.exp(logits.data[i * V + c] - m);
        out.data[i] = m + Math.log(s) - logits.data[i * V + label];
      }
      return out;
    },
  },
  one_hot: {
    name: 'one_hot',
    summary: 'labels [...] i32 -> [..., depth]: 1 at the label, 0 elsewhere',
    category: 'movement',
    arity: [1, 1],
    pure: true,
    inferType: ([labels], a: OneHotAttrs) => {
      if (labels.dtype !== 'i32') throw new OpTypeError(`one_hot: labels must be i32, got ${typeToString(labels)}`);
      if (!isDType(a.dtype)) throw new OpTypeError(`one_hot: unknown dtype ${String(a.dtype)}`);
      if (typeof a.depth === 'number' && !(Number.isInteger(a.depth) && a.depth > 0)) throw new OpTypeError(`one_hot: depth ${a.depth} must be a positive integer`);
      return tensorType(a.dtype, [...labels.shape, a.depth]);
    },
    evaluate: ([labels], a: OneHotAttrs, env) => {
      const depth = dimEval(a.depth, env.dims);
      const out = alloc(a.dtype, [...labels.shape, depth], env);
      for (let i = 0; i < labels.data.length; i++) {
        const label = labels.data[i];
        if (label < 0 || label >= depth) throw labelError(label, i, depth);
        out.data[i * depth + label] = 1;
      }
      return out;
    },
  },
});
