// onnxruntime-node is loaded on the first session only: an export never needs it, and a
// library that cannot be loaded is a clear error, not an internal one. Here the module itself
// fails to load, as it does in a process whose address space cannot map the library.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { exportOnnx, openSession } from '../../../backends/onnx/index.ts';
import { RhcError } from '../../../src/errors.ts';
import { compileSpec, randomWeights } from '../../passes/fixtures.ts';
import { tempDir } from './helpers.ts';

vi.mock('onnxruntime-node', () => {
  throw new Error('libonnxruntime.so.1: failed to map segment from shared object');
});

const dir = tempDir('rhc-onnx-runner-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loading onnxruntime-node', () => {
  it('is not needed to export', async () => {
    const g = compileSpec('lr');
    const file = path.join(dir, 'lr.onnx');
    await exportOnnx(g, randomWeights(g, 3), { specName: 'lr', hfConfig: {}, outPath: file });
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
  });

  it('fails a session with an RhcError that names the library and gives the reason', async () => {
    const err = await openSession(new Uint8Array([8, 7])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RhcError);
    // vitest rewords the factory's throw; what matters is that the reason follows
    expect((err as Error).message).toMatch(/^cannot load onnxruntime-node, which runs ONNX models on the CPU: \S/);
  });
});
