// The 'webgpu' backend of `rhc forward` / `rhc generate` (Node): compile the graph to WGSL and a
// plan, upload the weights, run. One device per process, acquired on first use and kept.

import type { Graph } from '../../ir/graph.ts';
import type { Decoder } from '../decoder.ts';
import type { ForwardBackend } from '../backends.ts';
import { compileWebGpu } from '../../../backends/webgpu/index.ts';
import { acquireDevice, type GpuContext } from './device.ts';
import { WebGpuModel } from './model.ts';

let device: Promise<GpuContext> | undefined;

export function processDevice(): Promise<GpuContext> {
  device ??= acquireDevice().catch((e: unknown) => {
    device = undefined; // a later call may try again
    throw e;
  });
  return device;
}

export function webgpuBackend(): ForwardBackend {
  return {
    name: 'webgpu',
    async forward(req) {
      const artifact = compileWebGpu(req.graph, { specName: req.graph.name, maxBatch: req.batch });
      const model = await WebGpuModel.create(await processDevice(), artifact, req.weights);
      try {
        return await model.forward(req.ids, req.batch, req.seq, req.positionOffset ?? 0);
      } finally {
        model.destroy();
      }
    },
  };
}

/** A decoder whose model (and KV cache) is freed with it. */
export async function webgpuDecoder(graph: Graph, weights: ReadonlyMap<string, Float32Array>): Promise<Decoder> {
  const model = await WebGpuModel.create(await processDevice(), compileWebGpu(graph, { specName: graph.name }), weights);
  let inner: Decoder;
  try {
    inner = model.decoder();
  } catch (e) {
    model.destroy();
    throw e;
  }
  return {
    append: (ids) => inner.append(ids),
    get length() {
      return inner.length;
    },
    capacity: inner.capacity,
    reset: () => inner.reset(),
    dispose: () => {
      inner.dispose();
      model.destroy();
    },
  };
}
