// WebGpuModel on a plan whose logits cover the last R positions (decoding.logitRowsSymbol): run()
// and forward() bind R to the sequence length and get every position, a decoder binds R = 1 and
// gets the last position's row, on SwiftShader against the f64 reference interpreter.

import { describe, expect, it } from 'vitest';
import { compileWebGpu } from '../../../backends/webgpu/index.ts';
import { WebGpuModel } from '../../../src/runtime/webgpu/model.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL } from '../../passes/fixtures.ts';
import { gpu, useDevice } from '../../backends/webgpu/helpers.ts';

useDevice();

const V = SMALL.vocab_size;

describe('WebGpuModel with last-position logits', () => {
  const g = compileSpec('gp-norm');
  const weights = randomWeights(g, 4);

  it('run() and forward() give every position, the decoder the last one of its prompt', async () => {
    const artifact = compileWebGpu(g, { specName: 'gp-norm', maxBatch: 2, maxSeq: 8 });
    expect(artifact.plan.decoding!.logitRowsSymbol).toBe('R');
    const model = await WebGpuModel.create(gpu.ctx, artifact, weights);
    try {
      const [batch, seq] = [2, 7];
      const ids = randomIds(batch * seq, V, 6);
      const reference = runReference(g, weights, ids, batch, seq).get('logits')!.data;
      const pos = Int32Array.from({ length: seq }, (_, i) => i);
      const ran = (await model.run({ ids: { data: ids, shape: [batch, seq] }, pos: { data: pos, shape: [seq] } }, ['logits'])).get('logits')!;
      expect(ran.length).toBe(batch * seq * V);
      expect(relativeError(ran, reference)).toBeLessThan(1e-4);
      expect(relativeError(await model.forward(ids, batch, seq), reference)).toBeLessThan(1e-4);
      // The first row of the batch as a prompt: one row of logits, that of its last position.
      const decoder = model.decoder();
      const last = await decoder.append([...ids.subarray(0, seq)]);
      expect(last.length).toBe(V);
      expect(relativeError(last, reference.subarray((seq - 1) * V, seq * V))).toBeLessThan(1e-4);
      decoder.dispose();
    } finally {
      model.destroy();
    }
  });
});
