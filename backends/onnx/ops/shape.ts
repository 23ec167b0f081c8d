// ONNX lowerings of the data-movement ops. Target shapes may hold symbolic dims, so they are
// computed at run time (ctx.shape); Reshape gets allowzero=1 so a dim that is 0 at run time
// (an empty KV cache) means 0, not "copy the input's dim".

import { attrsOf } from '../../../src/ir/registry.ts';
import { int, ints, type OnnxLowering } from '../emitter.ts';
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
};
