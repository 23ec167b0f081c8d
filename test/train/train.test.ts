// The training loop on WebGPU (SwiftShader) with a tiny model on real WikiText-2 text: metrics
// and checkpoints as documented, a resumed run ending with the very weights of an uninterrupted
// one, and a diverging run stopped at the step that diverged with its last checkpoint whole.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, type GpuContext } from '../../src/runtime/webgpu/device.ts';
import { METRICS_FILE, train, type TrainOptions, type TrainReporter } from '../../src/train/train.ts';
import { latestCheckpointDir, loadTrainingCheckpoint } from '../../src/train/checkpoint.ts';
import { loadModel } from '../../src/model/model.ts';
import { ROOT, tempDir, wikitextDir } from '../helpers/rh.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireDevice();
});
afterAll(() => ctx?.destroy());

const dir = tempDir();
const WIKI = wikitextDir();
const cache = path.join(dir, 'cache');

const base = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  source: path.join(ROOT, 'spec', 'lr-norm.rh'),
  data: path.join(WIKI, 'wiki.valid.tokens'),
  lr: 1e-3, lrSchedule: 'linear', epochs: 1, maxSteps: 6, warmupRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1,
  seqLen: 16, batchSize: 2, gradAccum: 1, seed: 42, shuffle: true, dataCache: cache,
  overrides: Object.entries({ n_layer: 1, n_embd: 16, n_head: 2, n_positions: 32 }).map(([name, value]) => ({ name, value, origin: '--set', strict: true })),
  ...over,
});

function quiet(onSaved?: (step: number) => void): TrainReporter {
  return { start() {}, step() {}, eval() {}, saved: (c) => onSaved?.(c.step), message() {}, stop() {} };
}

const records = (run: string) => fs.readFileSync(path.join(run, METRICS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

describe('rhc train', () => {
  it('a run killed after a checkpoint and resumed ends with the weights of the uninterrupted run', async () => {
    const whole = path.join(dir, 'whole');
    await train(base(), whole, quiet(), ctx);
    const steps = records(whole);
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of steps) expect(Object.keys(r).sort()).toEqual(['epoch', 'grad_norm', 'loss', 'lr', 'step', 'tokens_per_s']);
    expect(steps[0].lr).toBe(0); // warmup from 0, as Hugging Face's linear schedule
    expect(steps[0].loss).toBeGreaterThan(Math.log(50257) - 1);

    const cut = path.join(dir, 'cut');
    // The "kill": the reporter throws once the checkpoint of step 3 is on disk.
    await expect(train(base({ saveEvery: 3 }), cut, quiet((s) => {
      if (s === 3) throw new Error('killed');
    }), ctx)).rejects.toThrow('killed');
    expect(path.basename(latestCheckpointDir(cut))).toBe('checkpoint-3');
    fs.appendFileSync(path.join(cut, METRICS_FILE), '{"step": 4, "loss": 1}\n{"st'); // logged after the checkpoint, and cut short
    await train(base(), cut, quiet(), ctx, true);
    const resumed = records(cut);
    expect(resumed.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(resumed.map((r) => r.loss)).toEqual(steps.map((r) => r.loss));
    const a = loadModel(latestCheckpointDir(whole)).weights;
    const b = loadModel(latestCheckpointDir(cut)).weights;
    for (const [name, w] of a) expect(b.get(name), name).toEqual(w);
    const state = loadTrainingCheckpoint(cut);
    expect(state.state.step).toBe(6);
    expect(state.optimizer.size).toBe(2 * a.size);
  }, 600_000);

  it('a diverging run stops at the step whose loss is not finite, keeping its last checkpoint whole', async () => {
    const run = path.join(dir, 'nan');
    await expect(train(base({ lr: 1e30, warmupRatio: 0, maxGradNorm: 0, saveEvery: 1 }), run, quiet(), ctx)).rejects.toThrow(/step \d+: the loss is (NaN|Infinity|-Infinity)/);
    const last = latestCheckpointDir(run);
    const weights = loadModel(last).weights;
    for (const [name, w] of weights) expect(w.every(Number.isFinite), name).toBe(true);
  });
});
