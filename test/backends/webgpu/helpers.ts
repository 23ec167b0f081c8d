// Shared by the WebGPU backend tests: one device per test file (acquired in beforeAll, so a
// missing adapter fails the file -- it is never skipped), small graphs built node by node, and
// runs on the GPU compared with the reference interpreter in f64.

import { afterAll, beforeAll } from 'vitest';
import { GraphBuilder, type Graph } from '../../../src/ir/graph.ts';
import type { DType } from '../../../src/ir/types.ts';
import { sym, type Dim } from '../../../src/ir/dims.ts';
import type { RefTensor } from '../../../src/ir/reference.ts';
import { interpret } from '../../../src/runtime/reference/interpreter.ts';
import { acquireDevice, type GpuContext } from '../../../src/runtime/webgpu/device.ts';
import { WebGpuModel, type TensorData } from '../../../src/runtime/webgpu/model.ts';
import { compileWebGpu, type CompileWebGpuOptions, type WebGpuArtifact } from '../../../backends/webgpu/index.ts';
import { Rng } from '../../../src/io/rng.ts';
import { relativeError } from '../../passes/fixtures.ts';

/** The device of this test file (see useDevice). */
export const gpu: { ctx: GpuContext } = { ctx: undefined as unknown as GpuContext };

export function useDevice(): void {
  beforeAll(async () => {
    gpu.ctx = await acquireDevice();
  });
  afterAll(() => gpu.ctx?.destroy());
}

export const N = sym('N');
export const M = sym('M');

/** A graph from a builder callback: `input(name, dtype, shape)` adds inputs; returns the outputs. */
export function buildGraph(symbols: string[], build: (b: GraphBuilder, input: (name: string, dtype: DType, shape: Dim[]) => number) => Record<string, number>): Graph {
  const b = new GraphBuilder();
  const input = (name: string, dtype: DType, shape: Dim[]) => b.add('input', [], { name, dtype, shape });
  const outputs = build(b, input);
  return b.finish('test', symbols, Object.entries(outputs).map(([name, id]) => ({ name, id })), {});
}

export function randomTensor(dtype: DType, shape: number[], seed: number, range?: [number, number]): TensorData {
  const rng = new Rng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  if (dtype === 'i32') {
    const [lo, hi] = range ?? [-50, 50];
    return { data: Int32Array.from({ length: n }, () => lo + Math.floor(rng.uniform() * (hi - lo))), shape };
  }
  const data = new Float32Array(n);
  if (range) for (let i = 0; i < n; i++) data[i] = range[0] + rng.uniform() * (range[1] - range[0]);
  else rng.fillNormal(data, 0, 1);
  return { data, shape };
}

export async function compileAndCreate(g: Graph, opts: Partial<CompileWebGpuOptions> = {}, weights: ReadonlyMap<string, Float32Array> = new Map()): Promise<{ model: WebGpuModel; artifact: WebGpuArtifact }> {
  const artifact = compileWebGpu(g, { specName: 'test', decoding: false, passes: [], ...opts });
  return { model: await WebGpuModel.create(gpu.ctx, artifact, weights), artifact };
}

/**
 * Runs `g` on the GPU for each set of inputs (one compiled plan: symbolic dims at several
 * sizes) and returns, per output, the worst relative error against the f64 interpreter.
 */
export async function gpuVsReference(
  g: Graph,
  feeds: Record<string, TensorData>[],
  opts: { bounds: Record<string, number>; weights?: ReadonlyMap<string, Float32Array>; compile?: Partial<CompileWebGpuOptions> },
): Promise<Record<string, number>> {
  const { model } = await compileAndCreate(g, { ...opts.compile, bounds: opts.bounds }, opts.weights);
  const worst: Record<string, number> = {};
  try {
    for (const feed of feeds) {
      const got = await model.run(feed);
      const inputs = new Map<string, RefTensor>(Object.entries(feed).map(([k, v]) => [k, { dtype: v.data instanceof Int32Array ? 'i32' : 'f32', shape: [...v.shape], data: v.data }]));
      const params = new Map<string, RefTensor>();
      for (const n of g.nodes)
        if (n.op === 'param') params.set(n.attrs.name as string, { dtype: 'f32', shape: n.type.shape as number[], data: opts.weights!.get(n.attrs.name as string)! });
      const want = interpret(g, { inputs, params, precision: 'f64' });
      for (const [name, ref] of want) {
        const out = got.get(name)!;
        const err = ref.dtype === 'i32' ? (out.every((v, i) => v === ref.data[i]) ? 0 : 1) : relativeError(out, ref.data);
        worst[name] = Math.max(worst[name] ?? 0, err);
      }
    }
  } finally {
    model.destroy();
  }
  return worst;
}
