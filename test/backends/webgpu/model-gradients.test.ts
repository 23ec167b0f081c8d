// The whole model's loss gradient on WebGPU (SwiftShader), every variant at tiny dims, against
// the reference interpreter in f64 (whose gradients test/train/model-gradients.test.ts checks
// against finite differences): every parameter within 1e-3 relative.

import { describe, expect, it } from 'vitest';
import { modelGradients } from '../../../src/train/model-gradients.ts';
import { compileSpec, randomIds, randomWeights, relativeError, SPECS } from '../../passes/fixtures.ts';
import { TINY } from '../../train/fixtures.ts';

describe('model gradients on WebGPU', () => {
  it.each(SPECS)('%s', async (spec) => {
    const graph = compileSpec(spec, TINY);
    const weights = randomWeights(graph, 13);
    const ids = Array.from(randomIds(7, TINY.vocab_size, 2));
    const want = await modelGradients(graph, weights, ids, { backend: 'cpu', precision: 'f64' });
    const got = await modelGradients(graph, weights, ids, { backend: 'webgpu' });
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
    expect(Math.abs(got.norm - want.norm) / want.norm).toBeLessThan(1e-4);
    expect([...got.grads.keys()].sort()).toEqual([...want.grads.keys()].sort());
    for (const [name, g] of want.grads) expect(relativeError(got.grads.get(name)!, g), name).toBeLessThan(1e-3);
  });
});
