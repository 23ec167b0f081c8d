// Every IR op's ONNX lowering, collected from backends/onnx/ops/<family>.ts. Typed as
// Record<OpName, OnnxLowering>: an op added to the registry without a lowering fails to compile.

import type { OpName } from '../../src/ir/registry.ts';
import type { OnnxLowering } from './emitter.ts';
import { sourceLowerings } from './ops/sources.ts';
import { elementwiseLowerings } from './ops/elementwise.ts';
import { reduceLowerings } from './ops/reduce.ts';
import { shapeLowerings } from './ops/shape.ts';
import { matmulLowerings } from './ops/matmul.ts';
import { normLowerings } from './ops/norm.ts';
import { attentionLowerings } from './ops/attention.ts';
import { ropeLowerings } from './ops/rope.ts';
import { cacheLowerings } from './ops/cache.ts';
import { lossLowerings } from './ops/loss.ts';
import { fusedLowerings } from './ops/fused.ts';

export const ONNX_LOWERINGS: Record<OpName, OnnxLowering> = {
  ...sourceLowerings,
  ...elementwiseLowerings,
  ...reduceLowerings,
  ...shapeLowerings,
  ...matmulLowerings,
  ...normLowerings,
  ...attentionLowerings,
  ...ropeLowerings,
  ...cacheLowerings,
  ...lossLowerings,
  ...fusedLowerings,
};
