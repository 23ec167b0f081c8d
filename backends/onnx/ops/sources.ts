// ONNX lowerings of the sources: inputs are bound by the renderer at the graph boundary
// (int64 ids cast to i32, positions computed), parameters become initializers, constants
// initializers, and iota a Range.

import { ELEM, int, type OnnxLowering } from '../emitter.ts';
import type { ConstAttrs, InputAttrs, IotaAttrs, ParamAttrs, sourceOps } from '../../../src/ir/ops/sources.ts';

export const sourceLowerings: { [K in keyof typeof sourceOps]: OnnxLowering } = {
  input: (ctx, n) => ctx.input((n.attrs as unknown as InputAttrs).name),
  param: (ctx, n) => ctx.param((n.attrs as unknown as ParamAttrs).name, n.type),
  const: (ctx, n) => {
    const a = n.attrs as unknown as ConstAttrs;
    const hint = n.hint ? n.hint.replace(/\s+/g, '_') : 'const';
    return 'data' in a ? ctx.constant(a.dtype, a.shape, a.data, hint) : ctx.constant(a.dtype, [], [a.value], hint);
  },
  iota: (ctx, n) => {
    const range = ctx.op('Range', [ctx.dimScalar(0), ctx.dimScalar((n.attrs as unknown as IotaAttrs).length), ctx.dimScalar(1)]);
    return ctx.op('Cast', [range], { to: int(ELEM.i32) });
  },
};
