// ONNX lowerings of the sources: inputs are bound by the renderer at the graph boundary
// (int64 ids cast to i32, positions computed), parameters become initializers, constants
// initializers, and iota a Range.

import { attrsOf } from '../../../src/ir/registry.ts';
import { ELEM, int, type OnnxLowering } from '../emitter.ts';
import type { sourceOps } from '../../../src/ir/ops/sources.ts';

export const sourceLowerings: { [K in keyof typeof sourceOps]: OnnxLowering } = {
  input: (ctx, n) => ctx.input(attrsOf(n, 'input').name),
  param: (ctx, n) => ctx.param(attrsOf(n, 'param').name, n.type),
  const: (ctx, n) => {
    const a = attrsOf(n, 'const');
    const hint = n.hint ? n.hint.replace(/\s+/g, '_') : 'const';
    return 'data' in a ? ctx.constant(a.dtype, a.shape, a.data, hint) : ctx.constant(a.dtype, [], [a.value], hint);
  },
  iota: (ctx, n) => {
    const range = ctx.op('Range', [ctx.dimScalar(0), ctx.dimScalar(attrsOf(n, 'iota').length), ctx.dimScalar(1)]);
    return ctx.op('Cast', [range], { to: int(ELEM.i32) });
  },
};
