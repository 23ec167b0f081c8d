// Every seed variant (and plain GPT-2) learns on real text: a tiny model trained on WikiText-2's
// validation set for a few dozen steps on WebGPU (SwiftShader) ends with an eval loss on the
// test set well below the loss of an untrained GPT-2-initialised model, ln(50257) (its logits
// are near zero, so its predictions near uniform). SwiftShader is slow at the 50257-way softmax:
// the runs are short and the learning rate high.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, type GpuContext } from '../../src/runtime/webgpu/device.ts';
import { METRICS_FILE, train } from '../../src/train/train.ts';
import { ROOT, tempDir, wikitextDir } from '../helpers/rh.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireDevice();
});
afterAll(() => ctx?.destroy());

const dir = tempDir();
const WIKI = wikitextDir();
const UNIFORM = Math.log(50257);

describe('training each variant on WikiText-2', () => {
  it.each(['lr', 'lr-norm', 'gp', 'gp-norm', 'gpt2-abs'])('%s: eval loss on wiki.test falls well below ln(vocab)', async (spec) => {
    const out = path.join(dir, spec);
    const quiet = { start() {}, step() {}, eval() {}, saved() {}, message() {}, stop() {} };
    const result = await train({
      source: path.join(ROOT, 'spec', `${spec}.rh`), data: path.join(WIKI, 'wiki.valid.tokens'), evalData: path.join(WIKI, 'wiki.test.tokens'), evalBlocks: 8,
      lr: 1e-2, lrSchedule: 'linear', epochs: 1, maxSteps: 24, warmupRatio: 0.05, weightDecay: 0.01, maxGradNorm: 1, seqLen: 16, batchSize: 2, gradAccum: 1,
      seed: 42, shuffle: true, dataCache: path.join(dir, 'cache'),
      overrides: Object.entries({ n_layer: 1, n_embd: 16, n_head: 2, n_positions: 32 }).map(([name, value]) => ({ name, value, origin: '--set', strict: true })),
    }, out, quiet, ctx);
    const evals = fs.readFileSync(path.join(out, METRICS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => 'eval_loss' in r);
    expect(evals).toHaveLength(1);
    expect(result.lastEval!.eval_loss).toBeLessThan(UNIFORM - 1);
    expect(result.lastEval!.perplexity).toBeCloseTo(Math.exp(result.lastEval!.eval_loss), 6);
    // at least 100 times chance (1/50257): the model has learnt which tokens are frequent
    expect(result.lastEval!.accuracy).toBeGreaterThan(100 / 50257);
  }, 600_000); // SwiftShader on 2 shared cores: 1-2 minutes a variant
});
