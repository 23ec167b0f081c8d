// WGSL lowerings of the data-movement ops: on a buffer they stay strided views (no kernel, no
// copy); on an expression they remap the index. Gather reads the row its id names (clamped, so
// a bad id can never read outside the table; the runtime rejects bad ids before running).

import { attrsOf } from '../../../src/ir/registry.ts';
import { dimAdd, dimMul, numElements, shapeToString, type Dim } from '../../../src/ir/dims.ts';
import { normaliseAxis } from '../../../src/ir/reference.ts';
import { address, broadcastIndex, decompose, exprValue, linearize, viewValue } from '../values.ts';
import { broadcastView, reshapeView, sliceView, transposeView } from '../views.ts';
import { lazy, linearThread, storeOutput, WORKGROUP, type WgslLowering } from '../lowering.ts';
import { literal } from '../wgsl.ts';
import type { shapeOps } from '../../../src/ir/ops/shape.ts';

/** Columns of a row one scatter_add thread adds (its id scans are shared by them). */
const COLUMNS_PER_THREAD = 64;

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
  // Without f32 atomics: zero the table, then one thread per (position p, column group j) where
  // p is its id's first position adds, in position order, the rows of every position with that
  // id into the table row it alone writes (deterministic, the reference's order of additions).
  // Group j of J holds the columns j, j + J, j + 2J, ..., so neighbouring threads read
  // neighbouring columns; the id scans (O(N) each) are shared by a group's columns, so for N
  // ids of rows of width W the kernel costs O(N^2 W / COLUMNS_PER_THREAD) comparisons and
  // O(N W) additions. One thread per table row instead would scan all N ids for each of the V
  // rows (V, a vocabulary, far above N).
  scatter_add: {
    kind: 'kernel',
    kernel: (n, [ids, updates], out, ctx) => {
      const shape = n.type.shape;
      const rowShape = shape.slice(1);
      const positions = numElements(ids.shape);
      const width = numElements(rowShape);
      if (typeof width !== 'number') throw new Error(`internal: scatter_add rows ${shapeToString(rowShape)} are not fixed (its type rule checks them)`);
      const groups = Math.ceil(width / COLUMNS_PER_THREAD);
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
        grid: { linear: { count: dimMul(positions, groups), per: WORKGROUP } },
        main: () => {
          const idAt = k.func('id_at', 'm: u32', 'i32', () => ids.emit(k, { axes: decompose(k, 'm', ids.shape), flat: 'm' }));
          // table[row, c] += updates[m, c]: a function, so its index arithmetic stays in its own scope
          const addRow = k.func('add_update', 'm: u32, row: u32, c: u32', undefined, () => {
            const col = decompose(k, 'c', rowShape);
            const to = k.let(address(k, out.view, shape, { axes: ['row', ...col], flat: `row * ${width}u + c` }), 'at');
            const update = updates.emit(k, { axes: [...decompose(k, 'm', ids.shape), ...col], flat: `m * ${width}u + c` });
            k.line(k.store(out.view.buffer, to, `${k.load(out.view.buffer, to)} + ${update}`));
          });
          const [p, j] = linearThread(k, [positions, groups]).axes;
          const rows = k.dim(shape[0]);
          const count = k.dim(positions);
          k.line(`let id = ${idAt}(${p});`);
          k.line(`if (id < 0i || u32(id) >= ${rows}) { return; }`);
          k.line(`for (var m = 0u; m < ${p}; m++) { if (${idAt}(m) == id) { return; } }`);
          k.line(`for (var m = ${p}; m < ${count}; m++) {`);
          k.line(`  if (${idAt}(m) != id) { continue; }`);
          k.line(`  for (var c = ${j}; c < ${width}u; c += ${groups}u) { ${addRow}(m, u32(id), c); }`);
          k.line(`}`);
        },
      });
      return [clear, scatter];
    },
  },
};
