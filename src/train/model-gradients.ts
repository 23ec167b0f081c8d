// The gradient of a model's next-token loss on one sequence, with respect to every parameter,
// on the reference interpreter (f32, or f64 for checks) or on WebGPU: what `rhc grad` prints
// and writes, and what the gradient checks compare with finite differences.

import type { Graph } from '../ir/graph.ts';
import type { Precision, RefTensor } from '../ir/reference.ts';
import { IDS_INPUT, POSITIONS_INPUT } from '../ir/calling-convention.ts';
import { gradients, gradOutputName } from '../passes/autodiff.ts';
import { interpret, paramTensors } from '../runtime/reference/interpreter.ts';
import { positions } from '../runtime/decoder.ts';
import { RhcError } from '../errors.ts';
import { LOSS_OUTPUT, LOSS_SCALE_INPUT, lossGraph, trainableParams } from './step-graph.ts';

export type GradBackend = 'cpu' | 'webgpu';

export interface ModelGradients {
  /** mean next-token cross-entropy of the sequence */
  loss: number;
  /** parameter (checkpoint) name -> gradient, shaped as the parameter */
  grads: Map<string, Float32Array | Float64Array>;
  /** the global L2 norm of all gradients together */
  norm: number;
}

/** The loss-and-gradients graph of a model: outputs `loss` and `grad.<param>` for every float parameter. */
export function gradientGraph(model: Graph): Graph {
  const withLoss = lossGraph(model);
  const g = gradients(withLoss, { loss: LOSS_OUTPUT, params: trainableParams(withLoss).map((p) => p.name) });
  return { ...g, outputs: g.outputs.filter((o) => o.name === LOSS_OUTPUT || o.name.startsWith('grad.')) };
}

export async function modelGradients(model: Graph, weights: ReadonlyMap<string, Float32Array>, ids: readonly number[], opts: { backend?: GradBackend; precision?: Precision } = {}): Promise<ModelGradients> {
  if (ids.length < 2) throw new RhcError(`the loss needs at least 2 tokens (each position predicts the next), got ${ids.length}`);
  const graph = gradientGraph(model);
  const names = trainableParams(graph).map((p) => p.name);
  const T = ids.length;
  const scale = 1 / (T - 1);
  let outputs: Map<string, Float32Array | Float64Array | Int32Array>;
  if ((opts.backend ?? 'cpu') === 'cpu') {
    const inputs = new Map<string, RefTensor>([
      [IDS_INPUT, { dtype: 'i32', shape: [1, T], data: Int32Array.from(ids) }],
      [POSITIONS_INPUT, { dtype: 'i32', shape: [T], data: positions(T) }],
      [LOSS_SCALE_INPUT, { dtype: 'f32', shape: [], data: Float64Array.of(scale) }],
    ]);
    const ran = interpret(graph, { inputs, params: paramTensors(graph, weights), precision: opts.precision ?? 'f32' });
    outputs = new Map([...ran].map(([k, v]) => [k, v.data]));
  } else {
    const [{ compileWebGpu }, { processDevice }, { WebGpuModel }] = await Promise.all([
      import('../../backends/webgpu/index.ts'),
      import('../runtime/webgpu/backend.ts'),
      import('../runtime/webgpu/model.ts'),
    ]);
    const artifact = compileWebGpu(graph, { specName: graph.name, decoding: false, maxBatch: 1, maxSeq: T });
    const gpu = await WebGpuModel.create(await processDevice(), artifact, weights);
    try {
      outputs = await gpu.run({
        [IDS_INPUT]: { data: Int32Array.from(ids), shape: [1, T] },
        [POSITIONS_INPUT]: { data: positions(T), shape: [T] },
        [LOSS_SCALE_INPUT]: { data: Float32Array.of(scale), shape: [] },
      });
    } finally {
      gpu.destroy();
    }
  }
  const grads = new Map(names.map((n) => [n, outputs.get(gradOutputName(n)) as Float32Array | Float64Array]));
  let sq = 0;
  for (const g of grads.values()) for (const v of g) sq += v * v;
  return { loss: outputs.get(LOSS_OUTPUT)![0], grads, norm: Math.sqrt(sq) };
}
