// Every IR op's WGSL lowering, collected from src/ir/ops/<family>.wgsl.ts. Typed as
// Record<OpName, WgslLowering>: an op added to the registry without a lowering fails to compile.

import type { OpName } from '../../src/ir/registry.ts';
import type { WgslLowering } from './lowering.ts';
import { sourceWgsl } from '../../src/ir/ops/sources.wgsl.ts';
import { elementwiseWgsl } from '../../src/ir/ops/elementwise.wgsl.ts';
import { reduceWgsl } from '../../src/ir/ops/reduce.wgsl.ts';
import { shapeWgsl } from '../../src/ir/ops/shape.wgsl.ts';
import { matmulWgsl } from '../../src/ir/ops/matmul.wgsl.ts';
import { normWgsl } from '../../src/ir/ops/norm.wgsl.ts';
import { attentionWgsl } from '../../src/ir/ops/attention.wgsl.ts';
import { ropeWgsl } from '../../src/ir/ops/rope.wgsl.ts';

export const WGSL_LOWERINGS: Record<OpName, WgslLowering> = {
  ...sourceWgsl,
  ...elementwiseWgsl,
  ...reduceWgsl,
  ...shapeWgsl,
  ...matmulWgsl,
  ...normWgsl,
  ...attentionWgsl,
  ...ropeWgsl,
};
