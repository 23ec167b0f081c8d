// WGSL lowering of the KV cache's append: one kernel copying the fresh keys (or values) into
// the cache at offset P. The scheduler gives it the cache's view at P as its output (the
// present cache is then a view of that buffer: the past is never copied), and skips it when a
// region already stored the fresh part there (regions.ts).

import { elementwiseKernel, type WgslLowering } from '../lowering.ts';
import type { cacheOps } from '../../../src/ir/ops/cache.ts';

export const cacheWgsl: { [K in keyof typeof cacheOps]: WgslLowering } = {
  cache_append: {
    kind: 'kernel',
    kernel: (_n, [, fresh], out, ctx) => [elementwiseKernel(ctx, fresh, out, (k) => `append to a KV cache ${k.shape(fresh.shape)}`)],
  },
};
