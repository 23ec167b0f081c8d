// generate --backend onnx: the decoder-with-past session, fed token by token, gives the
// full-sequence logits of the reference interpreter.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initModel } from '../../../src/model/model.ts';
import { cpuBackend } from '../../../src/runtime/backends.ts';
import { onnxDecoder } from '../../../backends/onnx/decoder.ts';
import { ROOT } from '../../helpers/rh.ts';
import { relativeError } from '../../passes/fixtures.ts';

const overrides = Object.entries({ n_embd: 16, n_head: 2, n_layer: 2, vocab_size: 61, n_positions: 16 }).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));

describe('onnx decoder', () => {
  for (const variant of ['gp', 'lr-norm']) {
    it(`${variant}: step-by-step equals full sequence`, async () => {
      const model = initModel(path.join(ROOT, `spec/${variant}.rh`), { seed: 2, overrides });
      const ids = [4, 8, 15, 16, 23, 42];
      const full = await cpuBackend('f64').forward({ graph: model.graph, weights: model.weights, ids: Int32Array.from(ids), batch: 1, seq: ids.length });
      const dec = await onnxDecoder(model.graph, model.weights);
      const got = [await dec.append(ids.slice(0, 2))];
      for (const id of ids.slice(2)) got.push(await dec.append([id]));
      got.forEach((logits, k) => {
        const t = k + 1;
        const ref = full.subarray(t * 61, (t + 1) * 61);
        expect(relativeError(logits, ref)).toBeLessThan(1e-4);
      });
      expect(dec.length).toBe(ids.length);
      await expect(dec.append([])).rejects.toThrow(/at least one token/);
      await expect(dec.append(Array(11).fill(1))).rejects.toThrow(/holds 16 positions \(n_positions\): 6 cached \+ 11 new do not fit/);
      // after a reset the past starts empty again
      dec.reset();
      expect(relativeError(await dec.append(ids.slice(0, 2)), full.subarray(61, 2 * 61))).toBeLessThan(1e-4);
      dec.dispose();
    });
  }
});
