// Every IR op's WGSL lowering, collected from backends/webgpu/ops/<family>.ts. Typed as
// Record<OpName, WgslLowering>: an op added to the registry without a lowering fails to compile.

import type { OpName } from '../../src/ir/registry.ts';
import type { WgslLowering } from './lowering.ts';
import { sourceWgsl } from './ops/sources.ts';
import { elementwiseWgsl } from './ops/elementwise.ts';
import { reduceWgsl } from './ops/reduce.ts';
import { shapeWgsl } from './ops/shape.ts';
import { matmulWgsl } from './ops/matmul.ts';
import { normWgsl } from './ops/norm.ts';
import { attentionWgsl } from './ops/attention.ts';
import { ropeWgsl } from './ops/rope.ts';
import { cacheWgsl } from './ops/cache.ts';
import { lossWgsl } from './ops/loss.ts';
import { fusedWgsl } from './ops/fused.ts';

export const WGSL_LOWERINGS: Record<OpName, WgslLowering> = {
  ...sourceWgsl,
  ...elementwiseWgsl,
  ...reduceWgsl,
  ...shapeWgsl,
  ...matmulWgsl,
  ...normWgsl,
  ...attentionWgsl,
  ...ropeWgsl,
  ...cacheWgsl,
  ...lossWgsl,
  ...fusedWgsl,
};
