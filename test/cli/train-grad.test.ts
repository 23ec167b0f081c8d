// rhc grad and rhc train as a user runs them: grad's file against the f64 gradient computed
// here through the library, train's usage errors, and a short run on WikiText-2 whose
// checkpoint rhc forward loads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initModel, saveModel } from '../../src/model/model.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { modelGradients } from '../../src/train/model-gradients.ts';
import { relativeError } from '../passes/fixtures.ts';
import { ROOT, rhc, tempDir, wikitextDir } from '../helpers/rh.ts';

const DIMS = { n_layer: 1, n_embd: 16, n_head: 2, n_positions: 32 };
const overrides = Object.entries(DIMS).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
const model = initModel(path.join(ROOT, 'spec', 'lr.rh'), { seed: 3, overrides });
let dir: string;
let ckpt: string;

beforeAll(() => {
  dir = tempDir();
  ckpt = path.join(dir, 'ckpt');
  saveModel(model, ckpt);
});

describe('rhc grad', () => {
  it('prints the loss and gradient norm and writes every parameter\'s gradient under its name', async () => {
    const out = path.join(dir, 'grads.safetensors');
    const ids = [464, 3290, 318, 257, 1332, 13];
    const r = rhc(['grad', ckpt, '--ids', ids.join(','), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const want = await modelGradients(model.graph, model.weights, ids, { backend: 'cpu', precision: 'f64' });
    expect(Number(/loss (\S+)/.exec(r.stdout)![1])).toBeCloseTo(want.loss, 5);
    expect(Number(/gradient norm (\S+)/.exec(r.stdout)![1]) / want.norm).toBeCloseTo(1, 4);
    const file = readSafetensors(out);
    expect(file.names().sort()).toEqual([...model.weights.keys()].sort());
    for (const [name, g] of want.grads) expect(relativeError(file.get(name).toFloat32(), g), name).toBeLessThan(1e-4);
    expect(rhc(['grad', ckpt, '--ids', '5', '--out', out]).stderr).toMatch(/at least 2 tokens/);
  });
});

describe('rhc train', () => {
  it('refuses incomplete or contradictory command lines', () => {
    expect(rhc(['train', 'spec/lr.rh', '--out', path.join(dir, 'x')]).stderr).toMatch(/--data is required/);
    const resumed = rhc(['train', '--resume', path.join(dir, 'x'), '--lr', '1']);
    expect(resumed.status).toBe(2);
    expect(resumed.stderr).toMatch(/--resume continues a run with the options it was started with; drop --lr/);
    expect(rhc(['train', '--resume', path.join(dir, 'nothing')]).stderr).toMatch(/is not a training run/);
  });

  it('trains, writes metrics and a checkpoint rhc forward loads', () => {
    const run = path.join(dir, 'run');
    const r = rhc(['train', 'spec/lr.rh', '--data', path.join(wikitextDir(), 'wiki.valid.tokens'), '--out', run, '--max-steps', '3', '--seq-len', '16', '--batch-size', '2', ...Object.entries(DIMS).flatMap(([k, v]) => ['--set', `${k}=${v}`])]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained 3 steps/);
    const lines = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(fs.readFileSync(path.join(run, 'latest'), 'utf8').trim()).toBe('checkpoint-3');
    const f = rhc(['forward', path.join(run, 'checkpoint-3'), '--ids', '1,2,3', '--out', path.join(dir, 'l.npy')]);
    expect(f.status, f.stderr).toBe(0);
  });
});
