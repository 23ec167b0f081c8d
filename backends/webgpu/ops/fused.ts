// A `fused` node has no lowering of its own: the scheduler renders it by its rule (regions.ts).

import type { WgslLowering } from '../lowering.ts';
import type { fusedOps } from '../../../src/ir/ops/fused.ts';

export const fusedWgsl: { [K in keyof typeof fusedOps]: WgslLowering } = {
  fused: { kind: 'region' },
};
