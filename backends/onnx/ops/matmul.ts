// ONNX lowering of matmul: MatMul has the same NumPy batch broadcasting.

import type { OnnxLowering } from '../emitter.ts';
import type { matmulOps } from '../../../src/ir/ops/matmul.ts';

export const matmulLowerings: { [K in keyof typeof matmulOps]: OnnxLowering } = {
  matmul: (ctx, _n, inputs) => ctx.op('MatMul', inputs),
};
