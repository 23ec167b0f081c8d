// Ops that move data without arithmetic: reshape, transpose, slice, concat, broadcast, gather;
// and gather's transpose, scatter_add, which sums the rows of repeated ids.
// A slice's bounds may be symbolic (S - 1 : S, the last position of a sequence of any length):
// its length end - start must still be known at compile time or be a dim of its own.

import { neg, sumTo, transposeLast, zeros } from '../vjp.ts';
import { defineOps } from '../registry.ts';
import { type Dim, dimAdd, dimEq, dimEval, dimIsInteger, dimSub, dimToString, isConcrete, numElements, shapeToString } from '../dims.ts';
import { OpTypeError, tensorType, typeToString } from '../types.ts';
import { alloc, broadcastIndex, normaliseAxis, size, stridesOf, stridedIndex } from '../reference.ts';
import { checkAxis } from './common.ts';

export interface ReshapeAttrs { shape: readonly Dim[] }
export interface TransposeAttrs { perm: readonly number[] }
export interface SliceAttrs { axis: number; start: Dim; end: Dim }
export interface ConcatAttrs { axis: number }
export interface BroadcastAttrs { shape: readonly Dim[] }
export interface ScatterAddAttrs { rows: number }

export const shapeOps = defineOps({
  reshape: {
    name: 'reshape',
    summary: 'same elements, new shape (C order)',
    category: 'movement',
    arity: [1, 1],
    pure: true,
    vjp: (g, n, dy) => [g.add('reshape', [dy], { shape: g.type(n.inputs[0]).shape })],
    inferType: ([x], a: ReshapeAttrs) => {
      if (!dimEq(numElements(x.shape), numElements(a.shape)))
        throw new OpTypeError(
          `reshape: cannot reshape ${typeToString(x)} (${dimToString(numElements(x.shape))} elements) to ${shapeToString(a.shape)} (${dimToString(numElements(a.shape))} elements)`,
        );
      return tensorType(x.dtype, a.shape);
    },
    evaluate: ([x], a: ReshapeAttrs, env) => ({ dtype: x.dtype, shape: a.shape.map((d) => dimEval(d, env.dims)), data: x.data }),
  },
  transpose: {
    name: 'transpose',
    summary: 'permute axes: out.shape[i] = x.shape[perm[i]]',
    category: 'movement',
    arity: [1, 1],
    pure: true,
    vjp: (g, n, dy) => {
      const perm = (n.attrs as TransposeAttrs).perm;
      const inverse: number[] = new Array(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return [g.add('transpose', [dy], { perm: inverse })];
    },
    inferType: ([x], a: TransposeAttrs) => {
      const sorted = [...a.perm].sort((p, q) => p - q);
      if (a.perm.length !== x.shape.length || sorted.some((p, i) => p !== i))
        throw new OpTypeError(`transpose: [${a.perm.join(', ')}] is not a permutation of the ${x.shape.length} axes of ${typeToString(x)}`);
      return tensorType(x.dtype, a.perm.map((p) => x.shape[p]));
    },
    evaluate: ([x], a: TransposeAttrs, env) => {
      const shape = a.perm.map((p) => x.shape[p]);
      const out = alloc(x.dtype, shape, env);
      const inStrides = stridesOf(x.shape);
      const source = stridedIndex(shape, a.perm.map((p) => inStrides[p]));
      for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[source[i]];
      return out;
    },
  },
  slice: {
    name: 'slice',
    summary: 'x[..., start:end, ...] along one axis (static bounds)',
    category: 'movement',
    arity: [1, 1],
    pure: true,
    // dy in place, zeros before and after it along the axis
    vjp: (g, n, dy) => {
      const a = n.attrs as SliceAttrs;
      const x = g.type(n.inputs[0]);
      const ax = normaliseAxis(a.axis, x.shape.length);
      const part = (len: Dim) => zeros(g, { dtype: x.dtype, shape: x.shape.map((d, i) => (i === ax ? len : d)) });
      const parts = [...(dimEq(a.start, 0) ? [] : [part(a.start)]), dy, ...(dimEq(a.end, x.shape[ax]) ? [] : [part(dimSub(x.shape[ax], a.end))])];
      return [parts.length === 1 ? dy : g.add('concat', parts, { axis: ax })];
    },
    inferType: ([x], a: SliceAttrs) => {
      const ax = checkAxis('slice', a.axis, x.shape.length);
      const length = dimSub(a.end, a.start);
      const room = dimSub(x.shape[ax], a.end);
      // Bounds that are not numbers are checked where they are: each must be an integer
      // polynomial, and whatever is known (the length, the room left after end) non-negative.
      const ok = dimIsInteger(a.start) && dimIsInteger(a.end) && (!isConcrete(a.start) || a.start >= 0) &&
        (!isConcrete(length) || length >= 0) && (!isConcrete(room) || room >= 0);
      if (!ok) throw new OpTypeError(`slice: bounds ${dimToString(a.start)}:${dimToString(a.end)} do not fit axis ${a.axis} of ${typeToString(x)}`);
      return tensorType(x.dtype, x.shape.map((dim, i) => (i === ax ? length : dim)));
    },
    evaluate: ([x], a: SliceAttrs, env) => {
      const ax = normaliseAxis(a.axis, x.shape.length);
      const outer = size(x.shape.slice(0, ax));
      const inner = size(x.shape.slice(ax + 1));
      const n = x.shape[ax];
      const start = dimEval(a.start, env.dims);
      const end = dimEval(a.end, env.dims);
      // Symbolic bounds are only known now: a run whose sizes put them outside the axis is refused.
      if (start < 0 || end < start || end > n) throw new RangeError(`slice: bounds ${start}:${end} (${dimToString(a.start)}:${dimToString(a.end)}) do not fit axis ${a.axis} of length ${n}`);
      const m = end - start;
      const out = alloc(x.dtype, x.shape.map((d, i) => (i === ax ? m : d)), env);
      for (let o = 0; o < outer; o++)
        out.data.set(x.data.subarray((o * n + start) * inner, (o * n + end) * inner), o * m * inner);
      return out;
    },
  },
  concat: {
    name: 'concat',
    summary: 'join tensors along one axis',
    category: 'movement',
    arity: [1, Infinity],
    pure: true,
    vjp: (g, n, dy) => {
      const ax = normaliseAxis((n.attrs as ConcatAttrs).axis, g.type(n.output).shape.length);
      let start: Dim = 0;
      return n.inputs.map((x, i) => {
        const end = dimAdd(start, g.type(x).shape[ax]);
        const dx = n.wants(i) ? g.add('slice', [dy], { axis: ax, start, end }) : undefined;
        start = end;
        return dx;
      });
    },
    inferType: (xs, a: ConcatAttrs) => {
      const first = xs[0];
      const ax = checkAxis('concat', a.axis, first.shape.length);
      let total: Dim = 0;
      for (const x of xs) {
        const ok = x.dtype === first.dtype && x.shape.length === first.shape.length &&
          x.shape.every((d, i) => i === ax || dimEq(d, first.shape[i]));
        if (!ok) throw new OpTypeError(`concat: ${typeToString(x)} does not match ${typeToString(first)} off axis ${a.axis}`);
        total = dimAdd(total, x.shape[ax]);
      }
      return tensorType(first.dtype, first.shape.map((d, i) => (i === ax ? total : d)));
    },
    evaluate: (xs, a: ConcatAttrs, env) => {
      const ax = normaliseAxis(a.axis, xs[0].shape.length);
      const total = xs.reduce((s, x) => s + x.shape[ax], 0);
      const shape = xs[0].shape.map((d, i) => (i === ax ? total : d));
      const out = alloc(xs[0].dtype, shape, env);
      const outer = size(shape.slice(0, ax));
      const inner = size(shape.slice(ax + 1));
      let offset = 0;
      for (const x of xs) {
        const n = x.shape[ax];
        for (let o = 0; o < outer; o++)
          out.data.set(x.data.subarray(o * n * inner, (o + 1) * n * inner), (o * total + offset) * inner);
        offset += n;
      }
      return out;
    },
  },
  broadcast: {
    name: 'broadcast',
    summary: 'expand size-1 (or missing leading) axes to a shape',
    category: 'movement',
    arity: [1, 1],
    pure: true,
    vjp: (g, n, dy) => [sumTo(g, dy, g.type(n.inputs[0]).shape)],
    inferType: ([x], a: BroadcastAttrs) => {
      const off = a.shape.length - x.shape.length;
      const ok = off >= 0 && x.shape.every((d, i) => d === 1 || dimEq(d, a.shape[off + i]));
      if (!ok) throw new OpTypeError(`broadcast: ${typeToString(x)} cannot be broadcast to ${shapeToString(a.shape)}`);
      return tensorType(x.dtype, a.shape);
    },
    evaluate: ([x], a: BroadcastAttrs, env) => {
      const shape = a.shape.map((d) => dimEval(d, env.dims));
      const out = alloc(x.dtype, shape, env);
      const idx = broadcastIndex(x.shape, shape);
      for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[idx[i]];
      return out;
    },
  },
  gather: {
    name: 'gather',
    summary: 'rows of table[V, ...] picked by integer ids: ids.shape + table.shape[1:]',
    category: 'movement',
    arity: [2, 2],
    pure: true,
    inferType: ([table, ids]) => {
      if (ids.dtype !== 'i32') throw new OpTypeError(`gather: ids must be i32, got ${typeToString(ids)}`);
      if (table.shape.length < 1) throw new OpTypeError(`gather: the table must have rank >= 1, got ${typeToString(table)}`);
      return tensorType(table.dtype, [...ids.shape, ...table.shape.slice(1)]);
    },
    // the rows of dy added into the table rows they were read from (an embedding's gradient)
    vjp: (g, n, dy) => [g.add('scatter_add', [n.inputs[1], dy], { rows: g.type(n.inputs[0]).shape[0] }), undefined],
    evaluate: ([table, ids], _, env) => {
      const rows = table.shape[0];
      const width = size(table.shape.slice(1));
      const out = alloc(table.dtype, [...ids.shape, ...table.shape.slice(1)], env);
      for (let i = 0; i < ids.data.length; i++) {
        const r = ids.data[i];
        // A bad id is a user error (e.g. a token outside the vocabulary), reported, not a crash.
        if (r < 0 || r >= rows) throw new RangeError(`gather: index ${r} at position ${i} is out of range for a table of ${rows} rows`);
        out.data.set(table.data.subarray(r * width, (r + 1) * width), i * width);
      }
      return out;
    },
  },
  scatter_add: {
    name: 'scatter_add',
    summary: 'gather\'s transpose: [rows, ...] zeros with updates[n] added into row ids[n]',
    // it sums the rows of repeated ids: not a movement, which passes count as free (onlyMoves)
    category: 'reduction',
    arity: [2, 2],
    pure: true,
    inferType: ([ids, updates], a: ScatterAddAttrs) => {
      if (ids.dtype !== 'i32') throw new OpTypeError(`scatter_add: ids must be i32, got ${typeToString(ids)}`);
      if (!(Number.isInteger(a.rows) && a.rows > 0)) throw new OpTypeError(`scatter_add: rows ${a.rows} must be a positive integer`);
      const r = ids.shape.length;
      if (updates.shape.length < r || !ids.shape.every((d, i) => dimEq(d, updates.shape[i])) || !updates.shape.slice(r).every(isConcrete))
        throw new OpTypeError(`scatter_add: updates ${typeToString(updates)} must be ids.shape ${shapeToString(ids.shape)} followed by fixed row dims`);
      return tensorType(updates.dtype, [a.rows, ...updates.shape.slice(r)]);
    },
    evaluate: ([ids, updates], a: ScatterAddAttrs, env) => {
      const width = size(updates.shape.slice(ids.shape.length));
      const out = alloc(updates.dtype, [a.rows, ...updates.shape.slice(ids.shape.length)], env);
      for (let i = 0; i < ids.data.length; i++) {
        const r = ids.data[i];
        if (r < 0 || r >= a.rows) throw new RangeError(`scatter_add: index ${r} at position ${i} is out of range for ${a.rows} rows`);
        for (let c = 0; c < width; c++) out.data[r * width + c] += updates.data[i * width + c];
      }
      return out;
    },
  },
});
