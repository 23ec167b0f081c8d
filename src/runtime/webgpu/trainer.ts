// Training on a WebGPU device: the train-step graph (src/train/step-graph.ts) compiled once,
// its state (parameters, Adam moments, accumulated gradients) uploaded once. A micro-step runs
// forward, backward and the optimizer in one submission and copies the `next.*` outputs over
// the state on the GPU; only the loss and the gradient norm are read back (two floats, into
// reused readback buffers), so after the first step a step allocates nothing. Browser-safe.

import type { Graph } from '../../ir/graph.ts';
import { RhcError } from '../../errors.ts';
import { POSITIONS_INPUT, IDS_INPUT } from '../../ir/calling-convention.ts';
import { compileWebGpu, type WebGpuArtifact, type WebGpuPlan } from '../../../backends/webgpu/index.ts';
import {
  BIAS_CORRECTION1_INPUT, BIAS_CORRECTION2_INPUT, GRAD_NORM_OUTPUT, LOSS_OUTPUT, LOSS_SCALE_INPUT, LR_INPUT,
  TOKEN_CORRECT_OUTPUT, TOKEN_NLL_OUTPUT, gradAccumName, nextName, expAvgName, expAvgSqName, isOptimizerState, trainableParams, type TrainableParam,
} from '../../train/step-graph.ts';
import { positions } from '../decoder.ts';
import { dimSymbols } from '../../ir/dims.ts';
import { specialise } from '../../passes/specialise.ts';
import type { GpuContext } from './device.ts';
import { PlanProgram, type ReadRequest, type RunRequest } from './program.ts';

/** What one optimizer step needs besides the tokens (the host's schedule computes them). */
export interface StepHyper {
  /** 1 / target tokens of the whole step (every micro-batch) */
  lossScale: number;
  lr: number;
  /** 1 - beta1^t, 1 - beta2^t at the 1-based step t */
  biasCorrection1: number;
  biasCorrection2: number;
}

export interface MicroStepResult {
  /** this micro-batch's share of the step's mean loss (the shares of a step add up to it) */
  loss: number;
  /** the global norm of the step's gradient before clipping (meaningful after the last micro-batch) */
  gradNorm: number;
}

export interface TrainerShape {
  batch: number;
  seq: number;
}

/**
 * The graph at one [batch, seq] (the symbols of its ids input bound): a run trains at one size,
 * and concrete sizes let the backend pick its vec4 kernels.
 */
export function specialiseToShape(g: Graph, shape: TrainerShape): Graph {
  const ids = g.nodes.find((n) => n.op === 'input' && n.attrs.name === IDS_INPUT);
  const [b, s] = ids?.type.shape ?? [];
  const values = new Map<string, number>();
  if (b !== undefined && typeof b !== 'number' && dimSymbols(b).length === 1) values.set(dimSymbols(b)[0], shape.batch);
  if (s !== undefined && typeof s !== 'number' && dimSymbols(s).length === 1) values.set(dimSymbols(s)[0], shape.seq);
  return specialise(g, values);
}

export class WebGpuTrainer {
  private readonly commitStep: { from: number; to: number }[];
  private readonly commitAccum: { from: number; to: number }[];
  private readonly accumBuffers: number[];
  private readonly lossRead: ReadRequest;
  private readonly normRead: ReadRequest;

  private constructor(
    private readonly program: PlanProgram,
    readonly params: readonly TrainableParam[],
    readonly shape: TrainerShape,
  ) {
    const plan = program.plan;
    const out = (name: string) => {
      const o = plan.outputs.find((x) => x.name === name);
      if (!o) throw new Error(`internal: the train-step plan has no output '${name}'`);
      return o.buffer;
    };
    const commit = (name: string) => {
      const from = out(nextName(name));
      const to = program.weightBuffer(name);
      // A state tensor's next value must be a buffer of its own, or the copy would read what it writes.
      if (from === to || plan.buffers.find((b) => b.id === from)?.role !== 'output') throw new Error(`internal: next.${name} is not an output buffer of its own`);
      return { from, to };
    };
    this.commitStep = params.flatMap((p) => [p.name, expAvgName(p.name), expAvgSqName(p.name)].map(commit));
    this.commitAccum = params.map((p) => commit(gradAccumName(p.name)));
    this.accumBuffers = params.map((p) => program.weightBuffer(gradAccumName(p.name)));
    this.lossRead = { buffer: out(LOSS_OUTPUT), dtype: 'f32', start: 0, count: 1 };
    this.normRead = { buffer: out(GRAD_NORM_OUTPUT), dtype: 'f32', start: 0, count: 1 };
  }

  /**
   * Compiles the plan for [batch, seq] micro-batches (no device needed: the CLI reports its size).
   * `maxBindingBytes` (default: WebGPU's 128 MiB) is the most one binding holds; larger tensors are split.
   */
  static compile(stepGraph: Graph, shape: TrainerShape, opts: { maxBindingBytes?: number } = {}): WebGpuArtifact {
    return compileWebGpu(specialiseToShape(stepGraph, shape), { specName: stepGraph.name, decoding: false, maxBatch: shape.batch, maxSeq: shape.seq, weightsChange: true, ...opts });
  }

  /**
   * `state` holds every parameter; optimizer moments and gradient accumulators it lacks start
   * at zero (a fresh run), those it has continue (a resumed one).
   */
  static async create(ctx: GpuContext, stepGraph: Graph, artifact: WebGpuArtifact, state: ReadonlyMap<string, Float32Array>, shape: TrainerShape): Promise<WebGpuTrainer> {
    const params = trainableParams(stepGraph).filter((p) => !isOptimizerState(p.name));
    const weights = (name: string): Promise<Float32Array> => {
      const have = state.get(name);
      if (have) return Promise.resolve(have);
      const b = artifact.plan.buffers.find((x) => x.checkpoint === name);
      if (!b || !isOptimizerState(name)) return Promise.reject(new RhcError(`no weights for tensor '${name}' (the model needs it)`));
      return Promise.resolve(new Float32Array((b.shape ?? []).reduce<number>((a, d) => a * Number(d), 1)));
    };
    const program = await PlanProgram.create(ctx, artifact, weights);
    try {
      return new WebGpuTrainer(program, params, shape);
    } catch (e) {
      program.destroy();
      throw e;
    }
  }

  get plan(): WebGpuPlan {
    return this.program.plan;
  }

  private inputs(ids: Int32Array, hyper: StepHyper): Map<string, Int32Array | Float32Array> {
    const { batch, seq } = this.shape;
    if (ids.length !== batch * seq) throw new RhcError(`a micro-batch is ${batch} x ${seq} tokens, got ${ids.length}`);
    const ioIds = this.plan.inputs.find((x) => x.name === IDS_INPUT);
    const bad = ioIds?.indexes ? ids.findIndex((v) => v < 0 || v >= ioIds.indexes!.rows) : -1;
    if (bad >= 0) throw new RhcError(`token ${ids[bad]} at index ${bad} is outside the vocabulary [0, ${ioIds!.indexes!.rows})`);
    return new Map<string, Int32Array | Float32Array>([
      [IDS_INPUT, ids],
      [POSITIONS_INPUT, positions(seq)],
      [LOSS_SCALE_INPUT, Float32Array.of(hyper.lossScale)],
      [LR_INPUT, Float32Array.of(hyper.lr)],
      [BIAS_CORRECTION1_INPUT, Float32Array.of(hyper.biasCorrection1)],
      [BIAS_CORRECTION2_INPUT, Float32Array.of(hyper.biasCorrection2)],
    ]);
  }

  private dims(): Map<string, number> {
    const ids = this.plan.inputs.find((x) => x.name === IDS_INPUT)!;
    const dims = new Map(this.plan.symbols.map((s) => [s.name, 0]));
    const [b, s] = ids.shape;
    if (typeof b === 'string') dims.set(b, this.shape.batch);
    if (typeof s === 'string') dims.set(s, this.shape.seq);
    return dims;
  }

  /**
   * One micro-batch [batch, seq]: adds its gradient to the accumulated one; `last` (the step's
   * final micro-batch) also applies the AdamW step and clears the accumulators.
   */
  async microStep(ids: Int32Array, hyper: StepHyper, last: boolean, profile?: RunRequest['profile']): Promise<MicroStepResult> {
    const [loss, norm] = await this.program.run({
      profile,
      dims: this.dims(),
      inputs: this.inputs(ids, hyper),
      reads: [this.lossRead, this.normRead],
      copies: last ? this.commitStep : this.commitAccum,
      clears: last ? this.accumBuffers : [],
    });
    return { loss: loss[0], gradNorm: norm[0] };
  }

  /** Per-token NLL and correctness [batch, seq-1] of a batch, changing nothing. */
  async evaluate(ids: Int32Array): Promise<{ nll: Float32Array; correct: Float32Array }> {
    const { batch, seq } = this.shape;
    const n = batch * (seq - 1);
    const out = (name: string): ReadRequest => ({ buffer: this.plan.outputs.find((o) => o.name === name)!.buffer, dtype: 'f32', start: 0, count: n });
    const hyper = { lossScale: 1, lr: 0, biasCorrection1: 1, biasCorrection2: 1 };
    const [nll, correct] = await this.program.run({ dims: this.dims(), inputs: this.inputs(ids, hyper), reads: [out(TOKEN_NLL_OUTPUT), out(TOKEN_CORRECT_OUTPUT)] });
    return { nll: nll as Float32Array, correct: correct as Float32Array };
  }

  /** The current values of state tensors (parameters, moments, ...), read back from the device. */
  async readState(names: readonly string[]): Promise<Map<string, Float32Array>> {
    const reads = names.map((name): ReadRequest => {
      const id = this.program.weightBuffer(name);
      const b = this.plan.buffers.find((x) => x.id === id)!;
      return { buffer: id, dtype: 'f32', start: 0, count: (b.shape ?? []).reduce<number>((a, d) => a * Number(d), 1) };
    });
    const data = await this.program.run({ dims: this.dims(), inputs: this.inputs(new Int32Array(this.shape.batch * this.shape.seq), { lossScale: 0, lr: 0, biasCorrection1: 1, biasCorrection2: 1 }), reads, skipDispatches: true });
    return new Map(names.map((n, i) => [n, data[i] as Float32Array]));
  }

  destroy(): void {
    this.program.destroy();
  }
}
