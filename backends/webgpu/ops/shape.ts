// WGSL lowerings of the data-movement ops: on a buffer they stay strided views (no kernel, no
// copy); on an expression they remap the index. Gather reads the row its id names (clamped, so
// a bad id can never read outside the table; the runtime rejects bad ids before running).

import { attrsOf } from '../../../src/ir/registry.ts';
import { dimAdd, dimMul, numElements, type Dim } from '../../../src/ir/dims.ts';
import { normaliseAxis } from '../../../src/ir/reference.ts';
import { broadcastIndex, decompose, exprValue, linearize, viewValue } from '../values.ts';
import { broadcastView, reshapeView, sliceView, transposeView } from '../views.ts';
import { lazy, linearThread, storeOutput, WORKGROUP, type WgslLowering } from '../lowering.ts';
import { literal } from '../wgsl.ts';
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
  // Without f32 atomics: zero the table, then one thread per (position, column) whose id first
  // occurs at that position sums every position with that id, in position order (deterministic).
  // The first-occurrence scan is O(N) per thread: O(N^2 W) in all for N ids of rows of width W,
  // which beats scanning all V rows per thread (O(V N W)) while N is below the vocabulary.
  scatter_add: {
    kind: 'kernel',
    kernel: (n, [ids, updates], out, ctx) => {
      const shape = n.type.shape;
      const rowShape = shape.slice(1);
      const positions = numElements(ids.shape);
      const width = numElements(rowShape);
      const zero = ctx.writer('scatter_add_zero');
      const clear = zero.finish({
        summary: `zero ${zero.shape(shape)} before scatter_add`,
        workgroupSize: [WORKGROUP, 1, 1],
        grid: { linear: { count: numElements(shape), per: WORKGROUP } },
        main: () => {
          const at = linearThread(zero, shape);
          zero.line(storeOutput(zero, { view: out.view }, shape, at, literal(n.type.dtype, 0)));
        },
      });
      const k = ctx.writer('scatter_add');
      const scatter = k.finish({
        summary: `scatter_add of ${k.shape(updates.shape)} into ${k.shape(shape)} by ids ${k.shape(ids.shape)}`,
        workgroupSize: [WORKGROUP, 1, 1],
        grid: { linear: { count: dimMul(positions, width), per: WORKGROUP } },
        main: () => {
          const idAt = k.func('id_at', 'm: u32', 'i32', () => ids.emit(k, { axes: decompose(k, 'm', ids.shape), flat: 'm' }));
          const updAt = k.func('update_at', 'm: u32, c: u32', n.type.dtype, () => updates.emit(k, { axes: [...decompose(k, 'm', ids.shape), ...decompose(k, 'c', rowShape)] }));
          const [p, c] = linearThread(k, [positions, width]).axes;
          const rows = k.dim(shape[0]);
          const count = k.dim(positions);
          k.line(`let id = ${idAt}(${p});`);
          k.line(`if (id < 0i || u32(id) >= ${rows}) { return; }`);
          k.line(`for (var m = 0u; m < ${p}; m++) { if (${idAt}(m) == id) { return; } }`);
          k.line(`var acc = ${literal(n.type.dtype, 0)};`);
          k.line(`for (var m = ${p}; m < ${count}; m++) { if (${idAt}(m) == id) { acc += ${updAt}(m, ${c}); } }`);
          k.line(storeOutput(k, { view: out.view }, shape, { axes: ['u32(id)', ...decompose(k, c, rowShape)] }, 'acc'));
        },
      });
      return [clear, scatter];
    },
  },
};
