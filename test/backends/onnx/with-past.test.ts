// --with-past: the decoder-with-past export driven the way an ORT generator drives it (empty
// cache first, then present.* fed back as past_key_values.*); step-by-step logits must equal the
// full-sequence logits.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx, floatTensor, idsTensor, openSession, runSession } from '../../../backends/onnx/index.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from '../../passes/fixtures.ts';
import { declaredShape, metadata, readModel, tempDir } from './helpers.ts';

const dir = tempDir('rhc-onnx-past-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const H = SMALL.n_head;
const D = SMALL.n_embd / H;
const V = SMALL.vocab_size;

describe.each(SPECS)('ONNX export with past of %s', (spec) => {
  it('decodes step by step to the full-sequence logits, batch 2', async () => {
    const g = compileSpec(spec);
    const weights = randomWeights(g, 5);
    const file = path.join(dir, `${spec}.onnx`);
    await exportOnnx(g, weights, { specName: spec, hfConfig: SMALL, outPath: file, withPast: true });

    const model = readModel(file);
    const inputs = model.graph!.input!.map((v) => v.name);
    expect(inputs).toEqual(['input_ids', ...[0, 1].flatMap((l) => [`past_key_values.${l}.key`, `past_key_values.${l}.value`])]);
    expect(declaredShape(model.graph!.input![1])).toEqual(['batch', H, 'past_sequence', D]);
    expect(model.graph!.output!.map((v) => v.name)).toEqual(['logits', ...[0, 1].flatMap((l) => [`present.${l}.key`, `present.${l}.value`])]);
    expect(declaredShape(model.graph!.output![1])).toEqual(['batch', H, 'past_sequence + sequence', D]);
    expect(metadata(model).get('rhc_with_past')).toBe('true');

    const batch = 2;
    const total = 9;
    const ids = randomIds(batch * total, V, 17);
    const full = runReference(g, weights, ids, batch, total).get('logits')!.data;
    const session = await openSession(file);
    const stepped = new Float32Array(batch * total * V);
    let past: Record<string, ReturnType<typeof floatTensor>> = {};
    for (let l = 0; l < SMALL.n_layer; l++)
      for (const what of ['key', 'value']) past[`past_key_values.${l}.${what}`] = floatTensor(new Float32Array(0), [batch, H, 0, D]);
    let start = 0;
    for (const n of [4, 1, 1, 3]) {
      const chunk = Int32Array.from({ length: batch * n }, (_, k) => ids[Math.floor(k / n) * total + start + (k % n)]);
      const out = await runSession(session, { input_ids: idsTensor(chunk, batch, n), ...past });
      const logits = out.get('logits')!;
      expect(logits.dims).toEqual([batch, n, V]);
      for (let b = 0; b < batch; b++) stepped.set(logits.data.subarray(b * n * V, (b + 1) * n * V), (b * total + start) * V);
      past = {};
      for (const [name, t] of out)
        if (name.startsWith('present.')) {
          expect(t.dims).toEqual([batch, H, start + n, D]);
          past[name.replace('present.', 'past_key_values.')] = floatTensor(t.data, t.dims);
        }
      start += n;
    }
    await session.release();
    const err = relativeError(stepped, full);
    console.log(`onnx --with-past ${spec}: max relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
  });
});
