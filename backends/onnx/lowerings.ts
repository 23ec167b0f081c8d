// Every IR op's ONNX lowering, collected from src/ir/ops/<family>.onnx.ts. Typed as
// Record<OpName, OnnxLowering>: an op added to the registry without a lowering fails to compile.

import type { OpName } from '../../src/ir/registry.ts';
import type { OnnxLowering } from './emitter.ts';
import { sourceLowerings } from '../../src/ir/ops/sources.onnx.ts';
import { elementwiseLowerings } from '../../src/ir/ops/elementwise.onnx.ts';
import { reduceLowerings } from '../../src/ir/ops/reduce.onnx.ts';
import { shapeLowerings } from '../../src/ir/ops/shape.onnx.ts';
import { matmulLowerings } from '../../src/ir/ops/matmul.onnx.ts';
import { normLowerings } from '../../src/ir/ops/norm.onnx.ts';
import { attentionLowerings } from '../../src/ir/ops/attention.onnx.ts';
import { ropeLowerings } from '../../src/ir/ops/rope.onnx.ts';

export const ONNX_LOWERINGS: Record<OpName, OnnxLowering> = {
  ...sourceLowerings,
  ...elementwiseLowerings,
  ...reduceLowerings,
  ...shapeLowerings,
  ...matmulLowerings,
  ...normLowerings,
  ...attentionLowerings,
  ...ropeLowerings,
};
