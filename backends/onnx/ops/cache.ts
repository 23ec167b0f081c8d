// ONNX lowering of the KV cache's append: a Concat, as Optimum's decoder-with-past exports do.

import { attrsOf } from '../../../src/ir/registry.ts';
import { int, type OnnxLowering } from '../emitter.ts';
import type { cacheOps } from '../../../src/ir/ops/cache.ts';

export const cacheLowerings: { [K in keyof typeof cacheOps]: OnnxLowering } = {
  cache_append: (ctx, n, xs) => ctx.op('Concat', xs, { axis: int(attrsOf(n, 'cache_append').axis) }),
};
