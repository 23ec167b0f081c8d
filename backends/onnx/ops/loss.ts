// ONNX lowerings of the loss ops: cross-entropy as ReduceLogSumExp minus the label's logit
// (GatherElements), one_hot as Equal(label, Range(depth)).

import { attrsOf } from '../../../src/ir/registry.ts';
import { ELEM, int, ints, type OnnxLowering } from '../emitter.ts';
import type { lossOps } from '../../../src/ir/ops/loss.ts';

export const lossLowerings: { [K in keyof typeof lossOps]: OnnxLowering } = {
  cross_entropy: (ctx, _n, [logits, labels]) => {
    // ReduceLogSumExp takes its axes as an input only from opset 18.
    const lse = ctx.opset >= 18
      ? ctx.op('ReduceLogSumExp', [logits, ctx.i64([-1])], { keepdims: int(0) })
      : ctx.op('ReduceLogSumExp', [logits], { axes: ints([-1]), keepdims: int(0) });
    const picked = ctx.op('GatherElements', [logits, ctx.op('Unsqueeze', [labels, ctx.i64([-1])])], { axis: int(-1) });
    return ctx.op('Sub', [lse, ctx.op('Squeeze', [picked, ctx.i64([-1])])]);
  },
  // Equal(label, class index) rather than OneHot, whose onnxruntime kernels lack i32 labels with i64 depth.
  one_hot: (ctx, n, [labels]) => {
    const a = attrsOf(n, 'one_hot');
    const classes = ctx.op('Range', [ctx.dimScalar(0), ctx.dimScalar(a.depth), ctx.dimScalar(1)]);
    const hot = ctx.op('Equal', [ctx.op('Cast', [ctx.op('Unsqueeze', [labels, ctx.i64([-1])])], { to: int(ELEM.i64) }), classes]);
    return ctx.op('Cast', [hot], { to: int(ELEM[a.dtype]) });
  },
};
