// generate --backend onnx: the decoder-with-past session, fed token by token, gives the
// full-sequence logits of the reference interpreter.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initModel } from '../../../src/model/model.ts';
import { cpuBackend } from '../../../src/runtime/backends.ts';
import { onnxDecoder } from '../../../backends/onnx/decoder.ts';
import { floatTensor, idsTensor, openSession, prepareForOnnx, renderModel, runSession } from '../../../backends/onnx/index.ts';
import { emptyPastShape } from '../../../src/runtime/decoder.ts';
import onnxProto from 'onnx-proto';
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

  it('the decoder\'s export computes logits [batch, 1, vocab] of the last position; the plain --with-past export every position', async () => {
    const model = initModel(path.join(ROOT, 'spec/gp-norm.rh'), { seed: 3, overrides });
    const ids = [4, 8, 15, 16, 23, 42, 7, 1, 0, 60];
    const [batch, seq, V] = [2, 5, 61];
    const full = await cpuBackend('f64').forward({ graph: model.graph, weights: model.weights, ids: Int32Array.from(ids), batch, seq });
    for (const last of [true, false]) {
      const g = prepareForOnnx(model.graph, true, last);
      const session = await openSession(onnxProto.onnx.ModelProto.encode(renderModel(g, model.weights)).finish());
      const past = Object.fromEntries(g.nodes.filter((n) => n.op === 'input' && String(n.attrs.name).startsWith('past_key_values.'))
        .map((n) => [n.attrs.name as string, floatTensor(new Float32Array(0), emptyPastShape(n.type.shape).map((d, i) => (i === 0 ? batch : d)))]));
      const logits = (await runSession(session, { input_ids: idsTensor(Int32Array.from(ids), batch, seq), ...past })).get('logits')!;
      await session.release();
      expect(logits.dims).toEqual([batch, last ? 1 : seq, V]);
      const want = last ? [0, 1].flatMap((b) => [...full.subarray((b * seq + seq - 1) * V, (b * seq + seq) * V)]) : full;
      expect(relativeError(logits.data, want)).toBeLessThan(1e-4);
    }
  });
});
