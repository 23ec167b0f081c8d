// forward on each backend, compile --target onnx, and generate, run as a user would.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.ts';
import { encode, decode } from '../../src/io/tokenizer.ts';
import { loadModel } from '../../src/model/model.ts';
import { cpuBackend } from '../../src/runtime/backends.ts';
import { argmax } from '../../src/runtime/sampling.ts';
import { rhc, tempDir } from '../helpers/rh.ts';
import { relativeError } from '../passes/fixtures.ts';

const dims = ['--set', 'n_embd=32', '--set', 'n_head=4', '--set', 'n_layer=2', '--set', 'n_positions=32'];
let dir: string;
let ckpt: string;

beforeAll(() => {
  dir = tempDir();
  ckpt = path.join(dir, 'gp-norm');
  const r = rhc(['init-weights', 'spec/gp-norm.rh', '--out', ckpt, '--seed', '3', ...dims]);
  expect(r.status, r.stderr).toBe(0);
});

describe('rhc forward, compile, generate', () => {
  it('forward --backend onnx writes the same logits as --backend cpu', () => {
    const cpu = rhc(['forward', ckpt, '--text', 'Hello world, this is GPT-2.', '--out', path.join(dir, 'cpu.npy')]);
    const ort = rhc(['forward', ckpt, '--text', 'Hello world, this is GPT-2.', '--backend', 'onnx', '--out', path.join(dir, 'ort.npy')]);
    expect(cpu.status, cpu.stderr).toBe(0);
    expect(ort.status).toBe(0);
    expect(ort.stdout).toContain('logits [10, 50257] (onnx)');
    const a = readNpy(path.join(dir, 'cpu.npy'));
    const b = readNpy(path.join(dir, 'ort.npy'));
    expect(b.shape).toEqual([10, 50257]);
    expect(relativeError(b.data, a.data)).toBeLessThan(1e-4);
  });

  it('forward --precision f64 runs the interpreter in float64 (and only on cpu)', () => {
    const f64 = rhc(['forward', ckpt, '--ids', '5,6,7', '--precision', 'f64', '--out', path.join(dir, 'f64.npy')]);
    const f32 = rhc(['forward', ckpt, '--ids', '5,6,7', '--out', path.join(dir, 'f32.npy')]);
    expect(f64.status, f64.stderr).toBe(0);
    expect(f32.status, f32.stderr).toBe(0);
    const a = readNpy(path.join(dir, 'f64.npy')).data;
    const b = readNpy(path.join(dir, 'f32.npy')).data;
    const err = relativeError(b, a);
    expect(err).toBeLessThan(1e-5);
    expect(err).toBeGreaterThan(0); // f32 rounding of every op result shows
    const bad = rhc(['forward', ckpt, '--ids', '5', '--precision', 'f64', '--backend', 'onnx', '--out', path.join(dir, 'x.npy')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--precision f64 is for --backend cpu');
  });

  it('compile --target onnx says what it wrote, and rejects a checkpoint of another variant', () => {
    const out = path.join(dir, 'gp-norm.onnx');
    const ok = rhc(['compile', 'spec/gp-norm.rh', '--target', 'onnx', '--weights', ckpt, '-o', out]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [\\d.]+ MiB, gp_norm with weights from`));
    expect(fs.statSync(out).size).toBeGreaterThan(1000);
    const bad = rhc(['compile', 'spec/lr.rh', '--target', 'onnx', '--weights', ckpt, '-o', path.join(dir, 'x.onnx')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/rotatinghead="gp", use_norm=true, but the spec is lr\.rh/);
    expect(fs.existsSync(path.join(dir, 'x.onnx'))).toBe(false);
  });

  it('generate at temperature 0 streams the greedy continuation, the same on every backend', async () => {
    const r = rhc(['generate', ckpt, '--prompt', 'The cat', '--max-new-tokens', '5', '--temperature', '0']);
    expect(r.status).toBe(0);
    // The greedy chain computed independently: a full forward over the whole text at each step.
    const model = loadModel(ckpt);
    const ids = encode('The cat');
    for (let step = 0; step < 5; step++) {
      const logits = await cpuBackend('f64').forward({ graph: model.graph, weights: model.weights, ids: Int32Array.from(ids), batch: 1, seq: ids.length });
      ids.push(argmax(logits.subarray((ids.length - 1) * 50257)));
    }
    expect(r.stdout).toBe(decode(ids) + '\n');
    const again = rhc(['generate', ckpt, '--prompt', 'The cat', '--max-new-tokens', '5', '--temperature', '0']);
    expect(again.stdout).toBe(r.stdout);
    for (const backend of ['onnx', 'webgpu']) {
      const other = rhc(['generate', ckpt, '--prompt', 'The cat', '--max-new-tokens', '5', '--temperature', '0', '--backend', backend]);
      expect(other.status, other.stderr).toBe(0);
      expect(other.stdout).toBe(r.stdout);
    }
  });

  it('generate samples reproducibly per seed and validates its options', () => {
    const args = ['generate', ckpt, '--prompt', 'The cat', '--max-new-tokens', '6', '--temperature', '0.9', '--top-k', '40', '--top-p', '0.95'];
    const a = rhc([...args, '--seed', '1']);
    expect(a.status).toBe(0);
    expect(rhc([...args, '--seed', '1']).stdout).toBe(a.stdout);
    const bad = rhc(['generate', ckpt, '--prompt', 'x', '--top-p', '1.5']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--top-p must be in (0, 1], got 1.5');
  });
});
