// ONNX lowerings of the reductions. ReduceSum takes its axes as an input since opset 13;
// ReduceMean and ReduceMax only from opset 18 (an attribute before).

import { int, ints, type OnnxLowering } from '../emitter.ts';
import { attrsOf } from '../../../src/ir/registry.ts';
import type { ReduceAttrs, reduceOps } from '../../../src/ir/ops/reduce.ts';

function reduce(opType: string, axesInputSince: number): OnnxLowering {
  return (ctx, n, [x]) => {
    const a: ReduceAttrs = attrsOf(n, n.op as keyof typeof reduceOps); // every reduction takes ReduceAttrs
    if (ctx.opset >= axesInputSince) return ctx.op(opType, [x, ctx.i64([a.axis])], { keepdims: int(a.keepdims) });
    return ctx.op(opType, [x], { axes: ints([a.axis]), keepdims: int(a.keepdims) });
  };
}

export const reduceLowerings: { [K in keyof typeof reduceOps]: OnnxLowering } = {
  sum: reduce('ReduceSum', 13),
  mean: reduce('ReduceMean', 18),
  max_reduce: reduce('ReduceMax', 18),
};
