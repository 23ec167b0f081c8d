// Writing an export: whole or not at all, never over a file rhc did not write, one writer at a time.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx, isRhcOnnxFile, openSession, runLogits } from '../../../backends/onnx/index.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL } from '../../passes/fixtures.ts';
import { ROOT } from '../../helpers/rh.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir('rhc-onnx-write-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const g = compileSpec('gp');
const weights = randomWeights(g, 5);

async function logitsOf(file: string): Promise<Float32Array> {
  const session = await openSession(file);
  try {
    return await runLogits(session, randomIds(6, SMALL.vocab_size, 1), 1, 6);
  } finally {
    await session.release();
  }
}

describe('ONNX export writing', () => {
  it('recognises its own files only', async () => {
    const file = path.join(dir, 'own.onnx');
    await exportOnnx(g, weights, { specName: 'gp', hfConfig: {}, outPath: file });
    expect(isRhcOnnxFile(file)).toBe(true);
    const foreign = path.join(dir, 'foreign.onnx');
    fs.writeFileSync(foreign, Buffer.from([0x08, 0x07, 0x12, 0x07, ...Buffer.from('pytorch')]));
    expect(isRhcOnnxFile(foreign)).toBe(false);
    expect(isRhcOnnxFile(path.join(dir, 'missing.onnx'))).toBe(false);
  });

  it('refuses to replace a file rhc did not write, or a stray .data beside none, unless forced', async () => {
    const file = path.join(dir, 'user.onnx');
    fs.writeFileSync(file, 'my notes');
    await expect(exportOnnx(g, weights, { specName: 'gp', hfConfig: {}, outPath: file })).rejects.toThrow(
      `${file} exists and is not an ONNX model rhc wrote; refusing to replace it (use --force to overwrite)`,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('my notes');
    const other = path.join(dir, 'other.onnx');
    fs.writeFileSync(`${other}.data`, 'weights of something else');
    await expect(exportOnnx(g, weights, { specName: 'gp', hfConfig: {}, outPath: other })).rejects.toThrow(/other\.onnx\.data exists beside no ONNX model of rhc's/);
    await exportOnnx(g, weights, { specName: 'gp', hfConfig: {}, outPath: file, force: true });
    expect(isRhcOnnxFile(file)).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.rhc-'))).toEqual([]);
  });

  it('an export killed while writing leaves the previous model whole', async () => {
    const file = path.join(dir, 'killed.onnx');
    // Big enough (about 50 MB) that the kill lands while the new model is being written.
    const dims = ['--set', 'n_embd=256', '--set', 'n_head=4', '--set', 'n_layer=4', '--set', 'n_positions=64'];
    await exportOnnx(g, weights, { specName: 'gp', hfConfig: {}, outPath: file });
    const before = fs.readFileSync(file);
    const want = await logitsOf(file);
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/rhc.js'), 'compile', 'spec/gp.rh', '--target', 'onnx', '-o', file, ...dims], { cwd: ROOT });
    // Kill as soon as the temporary file beside the target appears.
    const started = Date.now();
    while (!fs.readdirSync(dir).some((n) => n.startsWith('.killed.onnx.rhc-tmp-'))) {
      if (Date.now() - started > 60_000 || child.exitCode !== null) throw new Error(`no temporary file appeared (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(relativeError(await logitsOf(file), want)).toBe(0);
    // The next export replaces the model whole and clears the dead writer's lock and temporary file.
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.killed.onnx.rhc-')).length).toBeGreaterThan(0);
    await exportOnnx(g, randomWeights(g, 6), { specName: 'gp', hfConfig: {}, outPath: file });
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.killed.onnx.rhc-'))).toEqual([]);
    const ids = randomIds(6, SMALL.vocab_size, 1);
    const ref = runReference(g, randomWeights(g, 6), ids, 1, 6).get('logits')!.data;
    expect(relativeError(await logitsOf(file), ref)).toBeLessThan(1e-4);
  });
});
