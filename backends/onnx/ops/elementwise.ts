// ONNX lowerings of the elementwise ops: each is the standard op of the same meaning
// (ONNX broadcasting is NumPy's, like the IR's).

import { attrsOf } from '../../../src/ir/registry.ts';
import { ELEM, int, type OnnxLowering } from '../emitter.ts';
import type { elementwiseOps } from '../../../src/ir/ops/elementwise.ts';

const same = (opType: string): OnnxLowering => (ctx, _n, inputs) => ctx.op(opType, inputs);

export const elementwiseLowerings: { [K in keyof typeof elementwiseOps]: OnnxLowering } = {
  neg: same('Neg'),
  exp: same('Exp'),
  log: same('Log'),
  sqrt: same('Sqrt'),
  tanh: same('Tanh'),
  erf: same('Erf'),
  sin: same('Sin'),
  cos: same('Cos'),
  abs: same('Abs'),
  add: same('Add'),
  sub: same('Sub'),
  mul: same('Mul'),
  div: same('Div'),
  pow: same('Pow'),
  max: same('Max'),
  min: same('Min'),
  // The comparison gives bool; the IR's mask is 1/0 in the operands' dtype.
  compare: (ctx, n, inputs, types) => {
    const opType = { eq: 'Equal', lt: 'Less', le: 'LessOrEqual', gt: 'Greater', ge: 'GreaterOrEqual' }[attrsOf(n, 'compare').cmp];
    return ctx.op('Cast', [ctx.op(opType, inputs)], { to: int(ELEM[types[0].dtype]) });
  },
  // ONNX Cast from float to int truncates toward zero, as the IR's cast does.
  cast: (ctx, n, [x]) => ctx.op('Cast', [x], { to: int(ELEM[attrsOf(n, 'cast').to]) }),
};
