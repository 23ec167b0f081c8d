// A training step against a forward pass of the same batch, both on the adapter: the step is
// forward + backward + AdamW in one submission (src/runtime/webgpu/trainer.ts), reading back the
// loss and gradient norm; the forward is the same model's loss graph on the same [batch, seq],
// compiled the same way (specialised sizes, nothing precomputed from the weights), reading back
// the loss. Backward is about 2x forward at the limit, so a step near 3x forward is good.

import { compileWebGpu, initModel, lossGraph, specialiseToShape, trainStepGraph, WebGpuModel, WebGpuTrainer, LOSS_OUTPUT, LOSS_SCALE_INPUT, type GpuContext } from './rhc-api.ts';
import { specFile, type ModelDef } from './models.ts';
import { measure, type Repeats, type Sample } from './stats.ts';

export interface TrainingRate {
  model: string;
  batch: number;
  seq: number;
  step: Sample;
  forward: Sample;
  /** step median / forward median */
  ratio: number;
  tokensPerS: number;
}

export async function trainingRate(ctx: GpuContext, def: ModelDef, batch: number, seq: number, r: Repeats): Promise<TrainingRate> {
  const overrides = Object.entries(def.dims).map(([name, value]) => ({ name, value, origin: 'bench', strict: true }));
  const model = initModel(specFile(def), { seed: 1, overrides });
  const ids = Int32Array.from({ length: batch * seq }, (_, i) => (i * 7919 + 13) % 50257);
  const pos = Int32Array.from({ length: seq }, (_, i) => i);
  const shape = { batch, seq };

  const stepGraph = trainStepGraph(model.graph);
  const trainer = await WebGpuTrainer.create(ctx, stepGraph, WebGpuTrainer.compile(stepGraph, shape), model.weights, shape);
  const hyper = { lossScale: 1 / (batch * (seq - 1)), lr: 1e-5, biasCorrection1: 0.1, biasCorrection2: 0.001 };
  let step: Sample;
  try {
    step = await measure(() => trainer.microStep(ids, hyper, true), r);
  } finally {
    trainer.destroy();
  }

  const loss = lossGraph(model.graph);
  const fixed = specialiseToShape({ ...loss, outputs: loss.outputs.filter((o) => o.name === LOSS_OUTPUT) }, shape);
  const forwardModel = await WebGpuModel.create(ctx, compileWebGpu(fixed, { specName: def.name, decoding: false, maxBatch: batch, maxSeq: seq, weightsChange: true }), model.weights);
  let forward: Sample;
  try {
    const inputs = { ids: { data: ids, shape: [batch, seq] }, pos: { data: pos, shape: [seq] }, [LOSS_SCALE_INPUT]: { data: Float32Array.of(hyper.lossScale), shape: [] } };
    forward = await measure(() => forwardModel.run(inputs, [LOSS_OUTPUT]), r);
  } finally {
    forwardModel.destroy();
  }
  return { model: def.name, batch, seq, step, forward, ratio: step.median / forward.median, tokensPerS: (batch * seq) / (step.median / 1000) };
}
