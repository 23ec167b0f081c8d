// ONNX lowerings of the data-movement ops. Target shapes may hold symbolic dims, so they are
// computed at run time (ctx.shape); Reshape gets allowzero=1 so a dim that is 0 at run time
// (an empty KV cache) means 0, not "copy the input's dim".

import { attrsOf } from '../../../src/ir/registry.ts';
import { ELEM, int, ints, type OnnxLowering } from '../emitter.ts';
import type { shapeOps } from '../../../src/ir/ops/shape.ts';

export const shapeLowerings: { [K in keyof typeof shapeOps]: OnnxLowering } = {
  reshape: (ctx, n, [x]) => ctx.op('Reshape', [x, ctx.shape(attrsOf(n, 'reshape').shape)], { allowzero: int(1) }),
  transpose: (ctx, n, [x]) => ctx.op('Transpose', [x], { perm: ints(attrsOf(n, 'transpose').perm) }),
  slice: (ctx, n, [x]) => {
    const a = attrsOf(n, 'slice');
    return ctx.op('Slice', [x, ctx.shape([a.start]), ctx.shape([a.end]), ctx.i64([a.axis])]);
  },
  concat: (ctx, n, xs) => ctx.op('Concat', xs, { axis: int(attrsOf(n, 'concat').axis) }),
  broadcast: (ctx, n, [x]) => ctx.op('Expand', [x, ctx.shape(attrsOf(n, 'broadcast').shape)]),
  gather: (ctx, _n, [table, ids]) => ctx.op('Gather', [table, ids], { axis: int(0) }),
  // ScatterND with reduction 'add' (opset 16) into zeros: rows of updates summed per id.
  scatter_add: (ctx, n, [ids, updates]) => {
    const rowShape = n.type.shape.slice(1);
    const zeros = ctx.op('ConstantOfShape', [ctx.shape(n.type.shape)]);
    const idx = ctx.op('Reshape', [ctx.op('Cast', [ids], { to: int(ELEM.i64) }), ctx.i64([-1, 1])]);
    const flat = ctx.op('Reshape', [updates, ctx.shape([-1, ...rowShape])]);
    return ctx.op('ScatterND', [zeros, idx, flat], { reduction: { string: 'add' } });
  },
};
