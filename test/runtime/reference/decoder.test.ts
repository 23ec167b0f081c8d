// Token-by-token decoding with the KV cache equals the full-sequence forward, for every variant.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initModel } from '../../../src/model/model.ts';
import { cpuBackend } from '../../../src/runtime/backends.ts';
import { referenceDecoder } from '../../../src/runtime/reference/decoder.ts';
import { ROOT } from '../../helpers/rh.ts';
import { relativeError } from '../../passes/fixtures.ts';

const dims = { n_embd: 16, n_head: 2, n_layer: 2, vocab_size: 61, n_positions: 16 };
const overrides = Object.entries(dims).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
const ids = [3, 17, 5, 60, 0, 42, 9];

describe('reference decoder', () => {
  for (const variant of ['gpt2-abs', 'rope', 'gp', 'gp-norm', 'lr', 'lr-norm']) {
    it(`${variant}: step-by-step logits equal the full-sequence logits`, async () => {
      const model = initModel(path.join(ROOT, `spec/${variant}.rh`), { seed: 5, overrides });
      const full = await cpuBackend('f64').forward({ graph: model.graph, weights: model.weights, ids: Int32Array.from(ids), batch: 1, seq: ids.length });
      const dec = referenceDecoder(model.graph, model.weights, 'f64');
      // a prompt of 3, then one token at a time
      const steps = [await dec.append(ids.slice(0, 3))];
      for (const id of ids.slice(3)) steps.push(await dec.append([id]));
      expect(dec.length).toBe(ids.length);
      const V = dims.vocab_size;
      steps.forEach((logits, k) => {
        const t = k === 0 ? 2 : k + 2;
        const ref = full.subarray(t * V, (t + 1) * V);
        expect(relativeError(logits, ref)).toBeLessThan(1e-6);
      });
      dec.reset();
      expect(dec.length).toBe(0);
      await expect(dec.append(Array(17).fill(1))).rejects.toThrow(/n_positions/);
    });
  }
});
