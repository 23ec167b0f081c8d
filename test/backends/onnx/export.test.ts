// Every spec variant exported once and run by onnxruntime (all graph optimisations) at several
// batch sizes and sequence lengths, against the reference interpreter in f64.

import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx, openSession, runLogits } from '../../../backends/onnx/index.ts';
import { compileSpec, FIXED_ROPE, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from '../../passes/fixtures.ts';
import { declaredShape, initializerShapes, metadata, readModel, tempDir } from './helpers.ts';
import * as fs from 'node:fs';

const dir = tempDir('rhc-onnx-export-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SHAPES: [batch: number, seq: number][] = [[2, 1], [2, 6], [2, 13], [1, SMALL.n_positions], [3, 4]];
const H = SMALL.n_head;
const HALF = SMALL.n_embd / H / 2;

describe.each(SPECS)('ONNX export of %s', (spec) => {
  const g = compileSpec(spec);
  const weights = randomWeights(g, 21);
  const file = path.join(dir, `${spec}.onnx`);
  const hfConfig = { ...SMALL, model_type: 'rotating-head-gpt2', spec };

  it('matches the reference interpreter within 1e-4 for several batches and lengths from one file', async () => {
    const result = await exportOnnx(g, weights, { specName: spec, hfConfig, outPath: file });
    expect(result.externalData).toBe(false);
    expect(result.bytes).toBe(fs.statSync(file).size);
    const session = await openSession(file);
    let worst = 0;
    for (const [batch, seq] of SHAPES) {
      const ids = randomIds(batch * seq, SMALL.vocab_size, batch * 100 + seq);
      const got = await runLogits(session, ids, batch, seq);
      const want = runReference(g, weights, ids, batch, seq).get('logits')!;
      expect(got.length).toBe(batch * seq * SMALL.vocab_size);
      worst = Math.max(worst, relativeError(got, want.data));
    }
    await session.release();
    console.log(`onnx ${spec}: max relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });

  it('declares the Hugging Face boundary, metadata and (for fixed variants only) cos/sin tables', () => {
    const model = readModel(file);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(model.graph!.node!.every((n) => !n.domain)).toBe(true);
    const [ids] = model.graph!.input!;
    expect(model.graph!.input!.map((v) => v.name)).toEqual(['input_ids']);
    expect(ids.type!.tensorType!.elemType).toBe(7); // int64
    expect(declaredShape(ids)).toEqual(['batch', 'sequence']);
    const [logits] = model.graph!.output!;
    expect(logits.name).toBe('logits');
    expect(logits.type!.tensorType!.elemType).toBe(1);
    expect(declaredShape(logits)).toEqual(['batch', 'sequence', SMALL.vocab_size]);
    const meta = metadata(model);
    expect(meta.get('rhc_spec')).toBe(spec);
    expect(meta.get('rhc_version')).toMatch(/^\d+\.\d+\.\d+/);
    expect(JSON.parse(meta.get('hf_config')!)).toEqual(hfConfig);
    const shapes = initializerShapes(model);
    expect(shapes.get('transformer.wte.weight')).toEqual([SMALL.vocab_size, SMALL.n_embd]);
    const tables = [...shapes.values()].filter((s) => String(s) === String([SMALL.n_positions, H, HALF]));
    expect(tables.length).toBe(FIXED_ROPE.includes(spec) ? 2 : 0);
    const ops = new Set(model.graph!.node!.map((n) => n.opType));
    expect(ops.has('LayerNormalization')).toBe(true);
    expect(ops.has('Cos')).toBe(spec === 'lr' || spec === 'lr-norm' || spec === 'gp-norm');
  });
});
