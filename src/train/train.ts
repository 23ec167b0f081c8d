// `rhc train`: the training loop on the host, the step on the GPU. The host picks each
// micro-batch (blocks in a per-epoch order fixed by the seed), computes the learning rate and
// Adam's bias corrections, appends metrics, evaluates and checkpoints; forward, backward and
// AdamW run on the device (src/runtime/webgpu/trainer.ts), which keeps the weights.
//
// Step k (0-based) of a run reads blocks that depend on (seed, k) alone, so a run resumed from
// the checkpoint of step k continues exactly as the uninterrupted run would.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../errors.ts';
import type { ConfigOverride } from '../dsl/config.ts';
import { initModel, loadModel, type Model } from '../model/model.ts';
import { writeFileAtomic, writingFiles } from '../io/files.ts';
import type { GpuContext } from '../runtime/webgpu/device.ts';
import { WebGpuTrainer } from '../runtime/webgpu/trainer.ts';
import { DEFAULT_OPTIMIZER, expAvgName, expAvgSqName, trainStepGraph, type OptimizerConfig } from './step-graph.ts';
import { biasCorrections, learningRate, warmupSteps, type LrSchedule, type LrScheduleName } from './schedule.ts';
import { BlockSampler, loadTokens } from './data.ts';
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type SavedCheckpoint } from './checkpoint.ts';

export const METRICS_FILE = 'metrics.jsonl';

/** Everything that decides what a run computes (saved in each checkpoint; a resumed run keeps it). */
export interface TrainOptions {
  /** a .rh spec (fresh weights, seeded) or a checkpoint directory to continue from */
  source: string;
  data: string;
  evalData?: string;
  lr: number;
  lrSchedule: LrScheduleName;
  epochs: number;
  /** optimizer steps in all; overrides epochs */
  maxSteps?: number;
  warmupRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  seqLen: number;
  batchSize: number;
  gradAccum: number;
  /** evaluate every N steps (and at the end, with eval data) */
  evalEvery?: number;
  /** evaluate on the first N blocks of the eval data only */
  evalBlocks?: number;
  /** checkpoint every N steps (and at the end) */
  saveEvery?: number;
  seed: number;
  shuffle: boolean;
  overrides: ConfigOverride[];
  /** where tokenised data is cached (default: <out>/data-cache) */
  dataCache?: string;
}

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
}

export interface EvalRecord {
  step: number;
  eval_loss: number;
  perplexity: number;
  accuracy: number;
  eval_tokens: number;
}

/** Where a run's progress goes (the CLI draws a progress bar; tests collect). */
export interface TrainReporter {
  start(info: { totalSteps: number; firstStep: number; stepsPerEpoch: number; tokensPerStep: number; params: number; planBytes: number }): void;
  step(r: StepRecord): void;
  eval(r: EvalRecord): void;
  saved(c: SavedCheckpoint): void;
  message(text: string): void;
  stop(): void;
}

export interface TrainResult {
  steps: number;
  lastLoss?: number;
  lastEval?: EvalRecord;
  checkpoint: SavedCheckpoint;
}

function appendMetrics(out: string, record: object): void {
  writingFiles(path.join(out, METRICS_FILE), () => fs.appendFileSync(path.join(out, METRICS_FILE), JSON.stringify(record) + '\n'));
}

/** A resumed run drops the records of steps after its checkpoint (a killed run may have logged them). */
function truncateMetrics(out: string, step: number): void {
  const file = path.join(out, METRICS_FILE);
  if (!fs.existsSync(file)) return;
  const kept = fs.readFileSync(file, 'utf8').split('\n').filter((line) => {
    if (!line.trim()) return false;
    try {
      return (JSON.parse(line) as { step?: number }).step! <= step;
    } catch {
      return false; // a line cut short by the kill
    }
  });
  writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
}

function isSpecFile(source: string): boolean {
  return source.endsWith('.rh') && !(fs.existsSync(source) && fs.statSync(source).isDirectory());
}

function checkOptions(o: TrainOptions, model: Model): void {
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new RhcError(`${name} must be a positive integer, got ${v}`);
  };
  positive('--seq-len', o.seqLen);
  positive('--batch-size', o.batchSize);
  positive('--grad-accum', o.gradAccum);
  positive('--epochs', o.epochs);
  positive('--max-steps', o.maxSteps);
  positive('--eval-every', o.evalEvery);
  positive('--save-every', o.saveEvery);
  positive('--eval-blocks', o.evalBlocks);
  if (o.seqLen < 2) throw new RhcError('--seq-len must be at least 2 (a position predicts the next token)');
  const nPositions = model.graph.config.n_positions;
  if (typeof nPositions === 'number' && o.seqLen > nPositions) throw new RhcError(`--seq-len ${o.seqLen} exceeds the model's n_positions (${nPositions})`);
  if (!(o.lr >= 0)) throw new RhcError(`--lr must be >= 0, got ${o.lr}`);
  if (!(o.warmupRatio >= 0 && o.warmupRatio <= 1)) throw new RhcError(`--warmup-ratio must be in [0, 1], got ${o.warmupRatio}`);
  if (!(o.weightDecay >= 0)) throw new RhcError(`--weight-decay must be >= 0, got ${o.weightDecay}`);
  if (!(o.maxGradNorm >= 0)) throw new RhcError(`--max-grad-norm must be >= 0 (0: no clipping), got ${o.maxGradNorm}`);
}

/**
 * Trains, writing metrics and checkpoints under `out`. `resume`: continue the run in `out` from
 * its latest checkpoint, with the options that run was started with.
 */
export async function train(given: TrainOptions, out: string, reporter: TrainReporter, ctx: GpuContext, resume = false): Promise<TrainResult> {
  let opts = given;
  let model: Model;
  let optimizer: Map<string, Float32Array> | undefined;
  let firstStep = 0;
  if (resume) {
    const ck = loadTrainingCheckpoint(out);
    opts = ck.state.options as unknown as TrainOptions;
    model = ck.model;
    optimizer = ck.optimizer;
    firstStep = ck.state.step;
    reporter.message(`resuming ${out} at step ${firstStep} from ${ck.dir}`);
    truncateMetrics(out, firstStep);
  } else {
    model = isSpecFile(opts.source) ? initModel(opts.source, { seed: opts.seed, overrides: opts.overrides }) : loadModel(opts.source, { overrides: opts.overrides });
  }
  checkOptions(opts, model);
  writingFiles(out, () => fs.mkdirSync(out, { recursive: true }));

  const cacheDir = opts.dataCache ?? path.join(out, 'data-cache');
  const tokens = await loadTokens(opts.data, { cacheDir, progress: true });
  const sampler = new BlockSampler(tokens.tokens, opts.seqLen, { seed: opts.seed, shuffle: opts.shuffle, source: opts.data });
  const perStep = opts.batchSize * opts.gradAccum;
  const stepsPerEpoch = Math.floor(sampler.blocks / perStep);
  if (stepsPerEpoch === 0)
    throw new RhcError(`${opts.data} has ${sampler.blocks} block(s) of ${opts.seqLen} tokens, fewer than one step takes (--batch-size ${opts.batchSize} x --grad-accum ${opts.gradAccum} = ${perStep})`);
  const totalSteps = opts.maxSteps ?? opts.epochs * stepsPerEpoch;
  if (firstStep >= totalSteps) throw new RhcError(`the run in ${out} is complete: it has done ${firstStep} of ${totalSteps} steps`);
  const evalTokens = opts.evalData ? await loadTokens(opts.evalData, { cacheDir, progress: true }) : undefined;
  const evalSampler = evalTokens ? new BlockSampler(evalTokens.tokens, opts.seqLen, { seed: opts.seed, shuffle: false, source: opts.evalData }) : undefined;

  const optConfig: OptimizerConfig = { ...DEFAULT_OPTIMIZER, weightDecay: opts.weightDecay, maxGradNorm: opts.maxGradNorm };
  const schedule: LrSchedule = { name: opts.lrSchedule, base: opts.lr, totalSteps, warmupSteps: warmupSteps(totalSteps, opts.warmupRatio) };
  const stepGraph = trainStepGraph(model.graph, optConfig);
  const shape = { batch: opts.batchSize, seq: opts.seqLen };
  const artifact = WebGpuTrainer.compile(stepGraph, shape);
  const state = new Map(model.weights);
  for (const [k, v] of optimizer ?? []) state.set(k, v);
  const trainer = await WebGpuTrainer.create(ctx, stepGraph, artifact, state, shape);
  const paramNames = trainer.params.map((p) => p.name);
  const params = [...model.weights.values()].reduce((n, w) => n + w.length, 0);
  const planBytes = artifact.plan.buffers.reduce((n, b) => n + b.bytes, 0);

  const save = async (step: number): Promise<SavedCheckpoint> => {
    const momentNames = paramNames.flatMap((n) => [expAvgName(n), expAvgSqName(n)]);
    const read = await trainer.readState([...paramNames, ...momentNames]); // one readback for both
    const weights = new Map(paramNames.map((n) => [n, read.get(n)!]));
    const moments = new Map(momentNames.map((n) => [n, read.get(n)!]));
    const saved = saveTrainingCheckpoint(out, { ...model, weights, inputs: [] }, moments, { format: 'rhc-trainer-state', step, options: opts as unknown as Record<string, unknown> });
    reporter.saved(saved);
    return saved;
  };
  const evaluate = async (step: number): Promise<EvalRecord> => {
    const s = evalSampler!;
    const blocks = Math.min(s.blocks, opts.evalBlocks ?? Infinity);
    let nll = 0;
    let correct = 0;
    let count = 0;
    for (let first = 0; first < blocks; first += opts.batchSize) {
      const rows = Math.min(opts.batchSize, blocks - first);
      // A short last batch is padded with its first block; the padding rows are not scored.
      const ids = new Int32Array(opts.batchSize * opts.seqLen);
      ids.set(s.batch(0, first, rows));
      for (let r = rows; r < opts.batchSize; r++) ids.copyWithin(r * opts.seqLen, 0, opts.seqLen);
      const res = await trainer.evaluate(ids);
      const scored = rows * (opts.seqLen - 1);
      for (let i = 0; i < scored; i++) {
        nll += res.nll[i];
        correct += res.correct[i];
      }
      count += scored;
    }
    const evalLoss = nll / count;
    const r: EvalRecord = { step, eval_loss: evalLoss, perplexity: Math.exp(evalLoss), accuracy: correct / count, eval_tokens: count };
    appendMetrics(out, r);
    reporter.eval(r);
    return r;
  };

  reporter.start({ totalSteps, firstStep, stepsPerEpoch, tokensPerStep: perStep * opts.seqLen, params, planBytes });
  let lastLoss: number | undefined;
  let lastEval: EvalRecord | undefined;
  let checkpoint: SavedCheckpoint | undefined;
  try {
    for (let k = firstStep; k < totalSteps; k++) {
      const started = performance.now();
      const epoch = Math.floor(k / stepsPerEpoch);
      const inEpoch = k % stepsPerEpoch;
      const lr = learningRate(schedule, k);
      const hyper = { lossScale: 1 / (perStep * (opts.seqLen - 1)), lr, ...biasCorrections(optConfig.beta1, optConfig.beta2, k) };
      let loss = 0;
      let gradNorm = 0;
      for (let j = 0; j < opts.gradAccum; j++) {
        const ids = sampler.batch(epoch, (inEpoch * opts.gradAccum + j) * opts.batchSize, opts.batchSize);
        const r = await trainer.microStep(ids, hyper, j === opts.gradAccum - 1);
        loss += r.loss;
        gradNorm = r.gradNorm;
      }
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        const last = checkpoint ?? (firstStep > 0 ? `the checkpoint of step ${firstStep} (resumed from)` : 'none was written yet');
        throw new RhcError(`step ${k + 1}: the loss is ${loss} (gradient norm ${gradNorm}); stopping. The weights on the device are no longer usable; the last good checkpoint is ${typeof last === 'string' ? last : last.dir}. Try a lower --lr or --max-grad-norm.`);
      }
      const seconds = (performance.now() - started) / 1000;
      const record: StepRecord = { step: k + 1, epoch: +(k / stepsPerEpoch + 1 / stepsPerEpoch).toFixed(4), loss, lr, grad_norm: gradNorm, tokens_per_s: Math.round((perStep * opts.seqLen) / seconds) };
      appendMetrics(out, record);
      reporter.step(record);
      lastLoss = loss;
      const final = k + 1 === totalSteps;
      if (evalSampler && (final || (opts.evalEvery && (k + 1) % opts.evalEvery === 0))) lastEval = await evaluate(k + 1);
      if (final || (opts.saveEvery && (k + 1) % opts.saveEvery === 0)) checkpoint = await save(k + 1);
    }
  } finally {
    reporter.stop();
    trainer.destroy();
  }
  return { steps: totalSteps, ...(lastLoss !== undefined ? { lastLoss } : {}), ...(lastEval ? { lastEval } : {}), checkpoint: checkpoint! };
}
