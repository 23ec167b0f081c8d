// The KV cache's append, explicit: the kv-cache pass writes cache_append(past, fresh) where a
// concat on the sequence axis would do, so a backend knows the cache by its op (and its layer
// and kind by the attributes) instead of by input names. Its value is the present cache:
// past then fresh along `axis`. WebGPU writes `fresh` into the cache in place; ONNX concats.

import { defineOps } from '../registry.ts';
import { shapeOps } from './shape.ts';
import type { CacheKind } from '../calling-convention.ts';
import { OpTypeError } from '../types.ts';

export interface CacheAppendAttrs {
  /** the sequence axis of [..., S, D] */
  axis: number;
  layer: number;
  kind: CacheKind;
}

export const cacheOps = defineOps({
  cache_append: {
    name: 'cache_append',
    summary: 'the KV cache after appending: concat(past, fresh) on the sequence axis',
    category: 'movement',
    arity: [2, 2],
    pure: true,
    inferType: (xs, a: CacheAppendAttrs) => {
      if (!Number.isInteger(a.layer) || a.layer < 0 || (a.kind !== 'key' && a.kind !== 'value'))
        throw new OpTypeError(`cache_append: layer ${a.layer} and kind ${a.kind} must be a layer index and 'key' or 'value'`);
      return shapeOps.concat.inferType(xs, { axis: a.axis });
    },
    evaluate: (xs, a: CacheAppendAttrs, env) => shapeOps.concat.evaluate(xs, { axis: a.axis }, env),
  },
});
