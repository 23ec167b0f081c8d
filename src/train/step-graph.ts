// The graphs training runs, built from a model's forward graph with IR ops only (so they go
// through the same passes and backends as inference):
//
// - `lossGraph`: the forward graph plus Hugging Face's causal-LM loss, the mean next-token
//   cross-entropy over the sequence (position t predicts token t+1: logits[:, :-1] against
//   ids[:, 1:]), with per-token NLL and correctness for evaluation;
// - `trainStepGraph`: that loss, its gradients (the autodiff pass), global-norm clipping and
//   one AdamW step (PyTorch's torch.optim.AdamW, as Hugging Face's Trainer runs it), with
//   gradient accumulation. Its `next.*` outputs are the new values of the state tensors
//   (parameters, moments, accumulated gradients); a runtime copies them over the state after
//   a run, so weights never leave the device.
//
// The mean over tokens is a sum times the `loss_scale` input, 1/(tokens in the whole batch):
// sizes are symbolic (B, S) and the host knows them, and accumulating micro-batches then sums
// gradients of the one batch mean.

import type { Graph, Node } from '../ir/graph.ts';
import { attrsOf } from '../ir/registry.ts';
import { DTYPES } from '../ir/dtypes.ts';
import { dimSub, type Dim } from '../ir/dims.ts';
import { IDS_INPUT, LOGITS_OUTPUT } from '../ir/calling-convention.ts';
import { gradients, gradOutputName } from '../passes/autodiff.ts';
import { Rewriter, usersOf } from '../passes/rewrite.ts';
import { RhcError } from '../errors.ts';

export const LOSS_OUTPUT = 'loss';
/** [B, S-1]: -log p(ids[:, t+1] | ids[:, :t+1]) */
export const TOKEN_NLL_OUTPUT = 'token_nll';
/** [B, S-1]: 1 where the target is the argmax of the logits (ties count as correct), else 0 */
export const TOKEN_CORRECT_OUTPUT = 'token_correct';
export const GRAD_NORM_OUTPUT = 'grad_norm';
/** f32 []: 1 / (target tokens in the batch, all micro-batches together) */
export const LOSS_SCALE_INPUT = 'loss_scale';
/** f32 []: this step's learning rate */
export const LR_INPUT = 'lr';
/** f32 []: 1 - beta1^t and 1 - beta2^t, Adam's bias corrections at step t (1-based) */
export const BIAS_CORRECTION1_INPUT = 'bias_correction1';
export const BIAS_CORRECTION2_INPUT = 'bias_correction2';

/** The optimizer state and gradient accumulator of parameter `name`, as state tensor names. */
export const expAvgName = (name: string) => `optimizer.exp_avg.${name}`;
export const expAvgSqName = (name: string) => `optimizer.exp_avg_sq.${name}`;
export const gradAccumName = (name: string) => `grad_accum.${name}`;
/** Whether a state tensor is optimizer state or an accumulator (not a model parameter). */
export const isOptimizerState = (name: string) => name.startsWith('optimizer.') || name.startsWith('grad_accum.');
/** The output holding the value state tensor `name` takes after a step. */
export const nextName = (name: string) => `next.${name}`;

function input(rw: Rewriter, name: string, dtype: 'f32' | 'i32', shape: readonly Dim[]): number {
  return rw.add('input', [], { name, dtype, shape }, name);
}

const f32 = (rw: Rewriter, value: number) => rw.add('const', [], { dtype: 'f32', value });

/** Sums every element of x to a scalar. */
function sumAll(rw: Rewriter, x: number): number {
  let v = x;
  while (rw.type(v).shape.length > 0) v = rw.add('sum', [v], { axis: 0, keepdims: false });
  return v;
}

/**
 * The forward graph with the causal-LM loss: outputs `loss` (scalar, the NLL sum times
 * `loss_scale`), `token_nll` and `token_correct`; the logits output is dropped (the loss reads
 * the logits, so nothing is lost but a readback nobody asked for).
 */
export function lossGraph(forward: Graph): Graph {
  const logitsOut = forward.outputs.find((o) => o.name === LOGITS_OUTPUT);
  const ids = forward.nodes.find((n) => n.op === 'input' && attrsOf(n, 'input').name === IDS_INPUT);
  if (!logitsOut || !ids) throw new RhcError(`training needs a model graph with an '${IDS_INPUT}' input and a '${LOGITS_OUTPUT}' output (graph ${forward.name})`);
  const rw = new Rewriter({ ...forward, outputs: [] });
  for (const n of forward.nodes) rw.keep(n);
  const logits = logitsOut.id;
  const [, S] = rw.type(ids.id).shape;
  const shifted = rw.add('slice', [logits], { axis: 1, start: 0, end: dimSub(S, 1) }, 'logits[:, :-1]');
  const labels = rw.add('slice', [ids.id], { axis: 1, start: 1, end: S }, 'labels');
  const nll = rw.add('cross_entropy', [shifted, labels], {}, TOKEN_NLL_OUTPUT);
  const scale = input(rw, LOSS_SCALE_INPUT, 'f32', []);
  const loss = rw.add('mul', [sumAll(rw, nll), scale], {}, LOSS_OUTPUT);
  // Correct when the target's logit is the row's maximum (its one-hot picks it out).
  const V = rw.type(shifted).shape[2];
  const hot = rw.add('one_hot', [labels], { depth: V, dtype: 'f32' });
  const targetLogit = rw.add('sum', [rw.add('mul', [hot, shifted])], { axis: 2, keepdims: false });
  const best = rw.add('max_reduce', [shifted], { axis: 2, keepdims: false });
  const correct = rw.add('compare', [targetLogit, best], { cmp: 'ge' }, TOKEN_CORRECT_OUTPUT);
  return rw.finish({
    outputs: [
      { name: LOSS_OUTPUT, id: loss },
      { name: TOKEN_NLL_OUTPUT, id: nll },
      { name: TOKEN_CORRECT_OUTPUT, id: correct },
    ],
  });
}

/** The seed's AdamW recipe (SEMANTICS.md), every field a `rhc train` flag. */
export interface OptimizerConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this; 0 turns clipping off */
  maxGradNorm: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1.0 };

/** A trainable parameter and whether weight decay applies to it. */
export interface TrainableParam {
  name: string;
  shape: number[];
  decay: boolean;
}

/**
 * Hugging Face's Trainer decays every parameter except biases and the parameters of LayerNorm
 * modules. Here a LayerNorm parameter is one a layer_norm op reads as its weight or bias
 * (inputs 1 and 2), which covers ln_1/ln_2/ln_f and the frequency LayerNorm of the +norm
 * variants without a list of names; a bias is a parameter named `*.bias`.
 */
export function trainableParams(g: Graph): TrainableParam[] {
  const users = usersOf(g);
  const normParam = (p: Node) => (users.get(p.id) ?? []).some((u) => u.op === 'layer_norm' && u.inputs.indexOf(p.id) >= 1);
  return g.nodes
    .filter((n) => n.op === 'param' && DTYPES[n.type.dtype].float)
    .map((n) => {
      const name = attrsOf(n, 'param').name;
      return { name, shape: n.type.shape as number[], decay: !name.endsWith('.bias') && !normParam(n) };
    });
}

/** The state a training step reads and replaces: every parameter, its two moments and its accumulated gradient. */
export function stateNames(params: readonly TrainableParam[]): string[] {
  return params.flatMap((p) => [p.name, expAvgName(p.name), expAvgSqName(p.name), gradAccumName(p.name)]);
}

/**
 * One training micro-step: the loss of a micro-batch, its gradients added to the accumulated
 * ones, and the AdamW step those would make. After the last micro-batch of a step a runtime
 * commits the `next.*` parameters and moments and clears the accumulators; after the others
 * it commits only `next.grad_accum.*`. `grad_norm` is the global norm of the accumulated
 * gradient before clipping (what Hugging Face logs).
 *
 * AdamW as torch.optim.AdamW computes it (t the 1-based step):
 *   p <- p * (1 - lr * wd)                 (decayed parameters only)
 *   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   p <- p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
 * with g the gradient scaled by min(1, max_norm / (norm + 1e-6)) (torch's clip_grad_norm_).
 */
export function trainStepGraph(forward: Graph, opt: OptimizerConfig = DEFAULT_OPTIMIZER): Graph {
  const withLoss = lossGraph(forward);
  const params = trainableParams(withLoss);
  if (params.length === 0) throw new RhcError(`the model ${forward.name} has no float parameters to train`);
  const graded = gradients(withLoss, { loss: LOSS_OUTPUT, params: params.map((p) => p.name) });
  const rw = new Rewriter(graded);
  for (const n of graded.nodes) rw.keep(n);
  const output = (name: string) => graded.outputs.find((o) => o.name === name)!.id;
  const paramId = new Map(graded.nodes.filter((n) => n.op === 'param').map((n) => [attrsOf(n, 'param').name, n.id]));
  const state = (name: string, shape: number[]) => rw.add('param', [], { name, dtype: 'f32', shape, init: { kind: 'zeros' } }, name);

  const lr = input(rw, LR_INPUT, 'f32', []);
  const bc1 = input(rw, BIAS_CORRECTION1_INPUT, 'f32', []);
  const bc2 = input(rw, BIAS_CORRECTION2_INPUT, 'f32', []);
  const accumulated = params.map((p) => rw.add('add', [state(gradAccumName(p.name), p.shape), output(gradOutputName(p.name))], {}, nextName(gradAccumName(p.name))));

  const squares = accumulated.map((g) => sumAll(rw, rw.add('mul', [g, g])));
  const normSq = squares.reduce((a, b) => rw.add('add', [a, b]));
  const norm = rw.add('sqrt', [normSq], {}, GRAD_NORM_OUTPUT);
  const clip = opt.maxGradNorm > 0 ? rw.add('min', [f32(rw, 1), rw.add('div', [f32(rw, opt.maxGradNorm), rw.add('add', [norm, f32(rw, 1e-6)])])]) : f32(rw, 1);

  const stepSize = rw.add('div', [lr, bc1]);
  const sqrtBc2 = rw.add('sqrt', [bc2]);
  const decayFactor = rw.add('sub', [f32(rw, 1), rw.add('mul', [lr, f32(rw, opt.weightDecay)])]);
  const outputs = [
    { name: LOSS_OUTPUT, id: output(LOSS_OUTPUT) },
    { name: TOKEN_NLL_OUTPUT, id: output(TOKEN_NLL_OUTPUT) },
    { name: TOKEN_CORRECT_OUTPUT, id: output(TOKEN_CORRECT_OUTPUT) },
    { name: GRAD_NORM_OUTPUT, id: norm },
  ];
  params.forEach((p, i) => {
    const g = rw.add('mul', [accumulated[i], clip]);
    const m = rw.add('add', [rw.add('mul', [state(expAvgName(p.name), p.shape), f32(rw, opt.beta1)]), rw.add('mul', [g, f32(rw, 1 - opt.beta1)])], {}, nextName(expAvgName(p.name)));
    const v = rw.add('add', [rw.add('mul', [state(expAvgSqName(p.name), p.shape), f32(rw, opt.beta2)]), rw.add('mul', [rw.add('mul', [g, g]), f32(rw, 1 - opt.beta2)])], {}, nextName(expAvgSqName(p.name)));
    const denom = rw.add('add', [rw.add('div', [rw.add('sqrt', [v]), sqrtBc2]), f32(rw, opt.eps)]);
    const w = paramId.get(p.name)!;
    const decayed = p.decay && opt.weightDecay !== 0 ? rw.add('mul', [w, decayFactor]) : w;
    const next = rw.add('sub', [decayed, rw.add('mul', [stepSize, rw.add('div', [m, denom])])], {}, nextName(p.name));
    outputs.push({ name: nextName(p.name), id: next }, { name: nextName(expAvgName(p.name)), id: m }, { name: nextName(expAvgSqName(p.name)), id: v }, { name: nextName(gradAccumName(p.name)), id: accumulated[i] });
  });
  // Only what the step needs: the bare grad.* outputs are folded into next.grad_accum.*.
  return { ...rw.finish(), outputs };
}
