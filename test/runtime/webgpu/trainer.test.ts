// Training steps on WebGPU (SwiftShader) against the train-step graph on the reference
// interpreter in f64 (whose AdamW test/train/step-graph.test.ts checks by hand): the gradients
// a micro-batch accumulates, the moments and weights a step commits, and four accumulated
// micro-batches against one batch of four. The moments start non-zero, so an update is a smooth
// function of the gradient (Adam's first step from zero moments is lr * sign(g)).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../../src/ir/graph.ts';
import type { RefTensor } from '../../../src/ir/reference.ts';
import { interpret } from '../../../src/runtime/reference/interpreter.ts';
import { acquireDevice, type GpuContext } from '../../../src/runtime/webgpu/device.ts';
import { WebGpuTrainer } from '../../../src/runtime/webgpu/trainer.ts';
import { BIAS_CORRECTION1_INPUT, BIAS_CORRECTION2_INPUT, LOSS_OUTPUT, LOSS_SCALE_INPUT, LR_INPUT, expAvgName, expAvgSqName, gradAccumName, nextName, trainStepGraph } from '../../../src/train/step-graph.ts';
import { Rng } from '../../../src/io/rng.ts';
import { compileSpec, randomIds, randomWeights, relativeError } from '../../passes/fixtures.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireDevice();
});
afterAll(() => ctx?.destroy());

const DIMS = { n_embd: 16, n_head: 2, n_layer: 2, vocab_size: 37, n_positions: 16 };
const S = 8;
const hyper = { lr: 0.02, biasCorrection1: 1 - 0.9 ** 3, biasCorrection2: 1 - 0.999 ** 3 };

function initialState(step: Graph, model: Graph, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const state = new Map(randomWeights(model, seed));
  for (const n of step.nodes) {
    const name = n.attrs.name as string;
    if (n.op !== 'param' || state.has(name) || name.startsWith('grad_accum.')) continue;
    const size = (n.type.shape as number[]).reduce((a, d) => a * d, 1);
    state.set(name, Float32Array.from({ length: size }, () => (name.includes('exp_avg_sq') ? 1e-4 + rng.uniform() * 1e-3 : (rng.uniform() - 0.5) * 1e-2)));
  }
  return state;
}

function reference(step: Graph, state: Map<string, Float32Array>, ids: Int32Array, batch: number, lossScale: number): Map<string, RefTensor> {
  const s = (v: number): RefTensor => ({ dtype: 'f32', shape: [], data: Float64Array.of(v) });
  const inputs = new Map<string, RefTensor>([
    ['ids', { dtype: 'i32', shape: [batch, S], data: ids }],
    ['pos', { dtype: 'i32', shape: [S], data: Int32Array.from({ length: S }, (_, i) => i) }],
    [LOSS_SCALE_INPUT, s(lossScale)], [LR_INPUT, s(hyper.lr)], [BIAS_CORRECTION1_INPUT, s(hyper.biasCorrection1)], [BIAS_CORRECTION2_INPUT, s(hyper.biasCorrection2)],
  ]);
  const params = new Map<string, RefTensor>();
  for (const n of step.nodes) {
    if (n.op !== 'param') continue;
    const name = n.attrs.name as string;
    const shape = n.type.shape as number[];
    params.set(name, { dtype: 'f32', shape, data: state.get(name) ?? new Float64Array(shape.reduce((a, d) => a * d, 1)) });
  }
  return interpret(step, { precision: 'f64', inputs, params });
}

describe.each(['lr-norm', 'gpt2-abs'] as const)('WebGPU training steps (%s)', (spec) => {
  const model = compileSpec(spec, DIMS);
  const step = trainStepGraph(model);

  it('a micro-batch accumulates the reference gradient; the last commits the reference moments and weights', async () => {
    const state = initialState(step, model, 3);
    const ids = randomIds(2 * S, DIMS.vocab_size, 4);
    const scale = 1 / (2 * (S - 1));
    const trainer = await WebGpuTrainer.create(ctx, step, WebGpuTrainer.compile(step, { batch: 2, seq: S }), state, { batch: 2, seq: S });
    try {
      const want = reference(step, state, ids, 2, scale);
      const names = trainer.params.map((p) => p.name);
      // Not the last micro-batch: only the accumulators change.
      const r1 = await trainer.microStep(ids, { lossScale: scale, ...hyper }, false);
      expect(Math.abs(r1.loss - want.get(LOSS_OUTPUT)!.data[0])).toBeLessThan(1e-5);
      const accum = await trainer.readState(names.map(gradAccumName));
      const unchanged = await trainer.readState(names);
      for (const n of names) {
        expect(relativeError(accum.get(gradAccumName(n))!, want.get(nextName(gradAccumName(n)))!.data), n).toBeLessThan(1e-3);
        expect(unchanged.get(n)).toEqual(state.get(n));
      }
      // Clearing the accumulators again by hand makes the next micro-batch the step's only one.
      const fresh = await WebGpuTrainer.create(ctx, step, WebGpuTrainer.compile(step, { batch: 2, seq: S }), state, { batch: 2, seq: S });
      try {
        await fresh.microStep(ids, { lossScale: scale, ...hyper }, true);
        const after = await fresh.readState(names.flatMap((n) => [n, expAvgName(n), expAvgSqName(n), gradAccumName(n)]));
        for (const n of names) {
          for (const key of [n, expAvgName(n), expAvgSqName(n)]) {
            const moved = Float64Array.from(after.get(key)!, (v, i) => v - state.get(key)![i]);
            const wanted = Float64Array.from(want.get(nextName(key))!.data, (v, i) => v - state.get(key)![i]);
            expect(relativeError(moved, wanted), key).toBeLessThan(2e-3);
          }
          expect(after.get(gradAccumName(n))!.every((v) => v === 0), `${n}: accumulator cleared`).toBe(true);
        }
      } finally {
        fresh.destroy();
      }
    } finally {
      trainer.destroy();
    }
  });

  it('four accumulated micro-batches of one block step as one batch of four', async () => {
    const state = initialState(step, model, 5);
    const ids = randomIds(4 * S, DIMS.vocab_size, 6);
    const scale = 1 / (4 * (S - 1));
    const one = await WebGpuTrainer.create(ctx, step, WebGpuTrainer.compile(step, { batch: 4, seq: S }), state, { batch: 4, seq: S });
    const micro = await WebGpuTrainer.create(ctx, step, WebGpuTrainer.compile(step, { batch: 1, seq: S }), state, { batch: 1, seq: S });
    try {
      const whole = await one.microStep(ids, { lossScale: scale, ...hyper }, true);
      let loss = 0;
      let norm = 0;
      for (let j = 0; j < 4; j++) {
        const r = await micro.microStep(ids.slice(j * S, (j + 1) * S), { lossScale: scale, ...hyper }, j === 3);
        loss += r.loss;
        norm = r.gradNorm;
      }
      expect(Math.abs(loss - whole.loss)).toBeLessThan(1e-5);
      expect(Math.abs(norm - whole.gradNorm) / whole.gradNorm).toBeLessThan(1e-4);
      const names = one.params.map((p) => p.name);
      const a = await one.readState(names);
      const b = await micro.readState(names);
      for (const n of names) {
        const da = Float64Array.from(a.get(n)!, (v, i) => v - state.get(n)![i]);
        const db = Float64Array.from(b.get(n)!, (v, i) => v - state.get(n)![i]);
        expect(relativeError(db, da), n).toBeLessThan(1e-3);
      }
    } finally {
      one.destroy();
      micro.destroy();
    }
  });

  it('a second step reads the weights the first wrote: two steps equal one step, a reload, and another', async () => {
    // The LR+norm frequencies are a function of parameters alone; a plan that computed them once,
    // at load (as inference does), would train the second step on the first's stale values.
    const shape = { batch: 2, seq: S };
    const artifact = WebGpuTrainer.compile(step, shape);
    const state = initialState(step, model, 8);
    const step1 = { lossScale: 1 / (2 * (S - 1)), ...hyper };
    const [b1, b2] = [randomIds(2 * S, DIMS.vocab_size, 1), randomIds(2 * S, DIMS.vocab_size, 2)];
    const through = await WebGpuTrainer.create(ctx, step, artifact, state, shape);
    const first = await WebGpuTrainer.create(ctx, step, artifact, state, shape);
    try {
      await through.microStep(b1, step1, true);
      const a = await through.microStep(b2, step1, true);
      await first.microStep(b1, step1, true);
      const reloaded = await WebGpuTrainer.create(ctx, step, artifact, await first.readState([...state.keys()]), shape);
      try {
        const b = await reloaded.microStep(b2, step1, true);
        expect(b.loss).toBe(a.loss);
        const names = through.params.map((p) => p.name);
        const [x, y] = [await through.readState(names), await reloaded.readState(names)];
        for (const n of names) expect(y.get(n), n).toEqual(x.get(n));
      } finally {
        reloaded.destroy();
      }
    } finally {
      through.destroy();
      first.destroy();
    }
  });
});

describe('a WebGPU training step with tensors split finer than a row of the batch', () => {
  // As the logits [1, 1024, 50257] of a 1024-token block in 128 MiB bindings: here [1, 8, 256]
  // (8 KiB) in 6 KiB bindings, split by positions; wte [256, 8] (8 KiB) is split by its rows.
  const dims = { n_embd: 8, n_head: 2, n_layer: 1, vocab_size: 256, n_positions: 16 };
  const model = compileSpec('gp-norm', dims);
  const step = trainStepGraph(model);

  it('commits the reference weights', async () => {
    const state = initialState(step, model, 5);
    const ids = randomIds(S, dims.vocab_size, 6);
    const scale = 1 / (S - 1);
    const artifact = WebGpuTrainer.compile(step, { batch: 1, seq: S }, { maxBindingBytes: 6 * 1024 });
    const byPosition = artifact.plan.buffers.filter((b) => b.chunking && b.chunking.rows === S && b.chunking.rowElements === dims.vocab_size);
    expect(byPosition.length).toBeGreaterThan(0);
    expect(artifact.plan.requirements.maxStorageBufferBindingSize).toBeLessThanOrEqual(6 * 1024);
    const trainer = await WebGpuTrainer.create(ctx, step, artifact, state, { batch: 1, seq: S });
    try {
      const want = reference(step, state, ids, 1, scale);
      const r = await trainer.microStep(ids, { lossScale: scale, ...hyper }, true);
      expect(Math.abs(r.loss - want.get(LOSS_OUTPUT)!.data[0])).toBeLessThan(1e-5);
      const names = trainer.params.map((p) => p.name);
      const after = await trainer.readState(names);
      for (const n of names) {
        const moved = Float64Array.from(after.get(n)!, (v, i) => v - state.get(n)![i]);
        const wanted = Float64Array.from(want.get(nextName(n))!.data, (v, i) => v - state.get(n)![i]);
        expect(relativeError(moved, wanted), n).toBeLessThan(2e-3);
      }
    } finally {
      trainer.destroy();
    }
  });
});
