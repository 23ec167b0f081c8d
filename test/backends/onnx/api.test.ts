// The library API the CLI calls: runOnnx (rhc forward --backend onnx), external data, errors.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx, openSession, runLogits, runOnnx } from '../../../backends/onnx/index.ts';
import { RhcError } from '../../../src/errors.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL } from '../../passes/fixtures.ts';
import { readModel, tempDir } from './helpers.ts';

const dir = tempDir('rhc-onnx-api-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ONNX backend API', () => {
  const g = compileSpec('gp-norm');
  const weights = randomWeights(g, 9);

  it('runOnnx returns logits [batch, seq, vocab] equal to the reference', async () => {
    const ids = randomIds(2 * 5, SMALL.vocab_size, 4);
    const got = await runOnnx(g, weights, ids, 2, 5);
    expect(got.length).toBe(2 * 5 * SMALL.vocab_size);
    expect(relativeError(got, runReference(g, weights, ids, 2, 5).get('logits')!.data)).toBeLessThan(1e-4);
    await expect(runOnnx(g, weights, ids, 3, 5)).rejects.toThrow(/do not make a \[3, 5\] batch/);
  });

  it('moves initializers to external data above the threshold, and onnxruntime loads it', async () => {
    const file = path.join(dir, 'model.onnx');
    const result = await exportOnnx(g, weights, { specName: 'gp-norm', hfConfig: {}, outPath: file, externalDataThreshold: 10_000, opset: 18 });
    expect(result.externalData).toBe(true);
    expect(fs.existsSync(`${file}.data`)).toBe(true);
    expect(result.bytes).toBe(fs.statSync(file).size + fs.statSync(`${file}.data`).size);
    const model = readModel(file);
    const wte = model.graph!.initializer!.find((t) => t.name === 'transformer.wte.weight')!;
    expect(wte.dataLocation).toBe(1);
    expect(wte.rawData?.length ?? 0).toBe(0);
    expect(Object.fromEntries(wte.externalData!.map((e) => [e.key, e.value]))).toMatchObject({ location: 'model.onnx.data' });
    const session = await openSession(file);
    const ids = randomIds(3 * 4, SMALL.vocab_size, 8);
    const got = await runLogits(session, ids, 3, 4);
    await session.release();
    expect(relativeError(got, runReference(g, weights, ids, 3, 4).get('logits')!.data)).toBeLessThan(1e-4);
    // re-exporting small removes the stale side file
    expect((await exportOnnx(g, weights, { specName: 'gp-norm', hfConfig: {}, outPath: file })).externalData).toBe(false);
    expect(fs.existsSync(`${file}.data`)).toBe(false);
  });

  it('reports missing or misshapen weights and unsupported opsets as user errors', async () => {
    const outPath = path.join(dir, 'bad.onnx');
    const missing = new Map(weights);
    missing.delete('transformer.ln_f.bias');
    await expect(exportOnnx(g, missing, { specName: 'x', hfConfig: {}, outPath })).rejects.toThrow(/no weights for parameter 'transformer.ln_f.bias'/);
    const short = new Map(weights).set('transformer.ln_f.bias', new Float32Array(3));
    await expect(exportOnnx(g, short, { specName: 'x', hfConfig: {}, outPath })).rejects.toThrow(RhcError);
    await expect(exportOnnx(g, weights, { specName: 'x', hfConfig: {}, outPath, opset: 12 })).rejects.toThrow(/opsets 17\.\.21/);
  });
});
