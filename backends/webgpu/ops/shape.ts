// WGSL lowerings of the data-movement ops: on a buffer they stay strided views (no kernel, no
// copy); on an expression they remap the index. Gather reads the row its id names (clamped, so
// a bad id can never read outside the table; the runtime rejects bad ids before running).

import { attrsOf } from '../../../src/ir/registry.ts';
import { dimAdd, type Dim } from '../../../src/ir/dims.ts';
import { normaliseAxis } from '../../../src/ir/reference.ts';
import { broadcastIndex, decompose, exprValue, linearize, viewValue } from '../values.ts';
import { broadcastView, reshapeView, sliceView, transposeView } from '../views.ts';
import { lazy, type WgslLowering } from '../lowering.ts';
import type { shapeOps } from '../../../src/ir/ops/shape.ts';

function withAxis(axes: readonly string[], axis: number, index: string): string[] {
  return axes.map((a, i) => (i === axis ? index : a));
}

export const shapeWgsl: { [K in keyof typeof shapeOps]: WgslLowering } = {
  reshape: lazy((n, [x]) => {
    const to = attrsOf(n, 'reshape').shape;
    const view = x.view && reshapeView(x.view, x.shape, to);
    if (view) return viewValue(x.dtype, to, view);
    // Row-major order is what reshape keeps: go through the flat index.
    return exprValue(x.dtype, to, (k, at) => {
      const flat = at.flat ?? linearize(k, at.axes, to);
      return x.emit(k, { axes: decompose(k, flat, x.shape), flat });
    });
  }),
  transpose: lazy((n, [x]) => {
    const perm = attrsOf(n, 'transpose').perm;
    if (x.view) return viewValue(x.dtype, n.type.shape, transposeView(x.view, perm));
    return exprValue(x.dtype, n.type.shape, (k, at) => {
      const axes: string[] = new Array(perm.length);
      perm.forEach((p, i) => (axes[p] = at.axes[i]));
      return x.emit(k, { axes });
    });
  }),
  slice: lazy((n, [x]) => {
    const a = attrsOf(n, 'slice');
    const axis = normaliseAxis(a.axis, x.shape.length);
    if (x.view) return viewValue(x.dtype, n.type.shape, sliceView(x.view, axis, a.start));
    return exprValue(x.dtype, n.type.shape, (k, at) => x.emit(k, { axes: withAxis(at.axes, axis, `(${at.axes[axis]} + ${k.dim(a.start)})`) }));
  }),
  broadcast: lazy((n, [x]) => {
    const to = attrsOf(n, 'broadcast').shape;
    if (x.view) return viewValue(x.dtype, to, broadcastView(x.view, x.shape, to));
    return exprValue(x.dtype, to, (k, at) => x.emit(k, broadcastIndex(at, to, x.shape)));
  }),
  concat: lazy((n, xs) => {
    const axis = normaliseAxis(attrsOf(n, 'concat').axis, n.type.shape.length);
    const starts: Dim[] = [0];
    for (const x of xs) starts.push(dimAdd(starts[starts.length - 1], x.shape[axis]));
    return exprValue(n.type.dtype, n.type.shape, (k, at) => {
      const i = at.axes[axis];
      // Both sides of a select are evaluated; the unused side's index may wrap, which the
      // loads' bounds (robust buffer access, chunk helpers) make harmless.
      const part = (t: number) => xs[t].emit(k, { axes: withAxis(at.axes, axis, t === 0 ? i : `(${i} - ${k.dim(starts[t])})`) });
      let expr = part(xs.length - 1);
      for (let t = xs.length - 2; t >= 0; t--) expr = `select(${expr}, ${part(t)}, ${i} < ${k.dim(starts[t + 1])})`;
      return expr;
    });
  }),
  gather: lazy(
    (n, [table, ids]) => {
      const r = ids.shape.length;
      return exprValue(table.dtype, n.type.shape, (k, at) => {
        const id = ids.emit(k, { axes: at.axes.slice(0, r) });
        const last = k.dim(dimAdd(table.shape[0], -1));
        const row = k.memo(`row ${id} of ${last}`, () => `min(u32(max(${id}, 0i)), ${last})`, 'r');
        return table.emit(k, { axes: [row, ...at.axes.slice(r)] });
      });
    },
    { asCheapAsALoad: ([table, ids]) => table.view !== undefined && ids.view !== undefined },
  ),
};
