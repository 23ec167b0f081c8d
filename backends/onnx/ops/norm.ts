// ONNX lowerings of the normalisations: Softmax (opset 13 semantics: along one axis) and
// LayerNormalization (opset 17; biased variance over the last axis, as the IR's).

import { attrsOf } from '../../../src/ir/registry.ts';
import { float, int, type OnnxLowering } from '../emitter.ts';
import type { normOps } from '../../../src/ir/ops/norm.ts';

export const normLowerings: { [K in keyof typeof normOps]: OnnxLowering } = {
  softmax: (ctx, n, [x]) => ctx.op('Softmax', [x], { axis: int(attrsOf(n, 'softmax').axis) }),
  layer_norm: (ctx, n, inputs) =>
    ctx.op('LayerNormalization', inputs, { axis: int(-1), epsilon: float(attrsOf(n, 'layer_norm').eps) }),
};
