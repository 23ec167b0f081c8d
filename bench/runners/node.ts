// The engines that run in this Node process: rhc on Dawn (WebGpuModel.create on the compiled
// artifact and the checkpoint's weights), onnxruntime-node on the CPU, and onnxruntime-web's
// WebGPU EP on Dawn (for machines without Chromium, such as the GPU machine).

import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { compileForRun, openSession, WebGpuModel, type GpuContext, type OptLevel } from '../rhc-api.ts';
import { attentionDims, type PreparedModel } from '../models.ts';
import { ortEngine, type SessionLike } from './ort.ts';
import { rhcEngine } from './rhc.ts';
import type { Engine } from './protocol.ts';

export async function rhcNodeEngine(ctx: GpuContext, p: PreparedModel, level: OptLevel): Promise<Engine> {
  const artifact = compileForRun(p.model.graph, p.def.spec, level);
  const model = await WebGpuModel.create(ctx, artifact, p.model.weights);
  return rhcEngine(model, p.def.dims.vocab_size);
}

export function ortNodeEngine(p: PreparedModel): Engine {
  return ortEngine({
    Tensor: ort.Tensor as never,
    plain: async () => (await openSession(p.onnx)) as unknown as SessionLike,
    withPast: async () => (await openSession(p.onnxPast)) as unknown as SessionLike,
    ...attentionDims(p.def),
  });
}

/**
 * onnxruntime-web needs navigator.gpu, which Node 20 lacks: Dawn's GPU object stands in. Its
 * wasm heap is a SharedArrayBuffer, which Dawn's writeBuffer refuses, so such views are copied
 * first (a host-side copy of what is uploaded; the GPU work is untouched).
 */
async function ortWeb(): Promise<typeof import('onnxruntime-web')> {
  const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: Record<string, { prototype: Record<string, unknown> }> };
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, globals);
    const queue = globals.GPUQueue.prototype as { writeBuffer: (this: unknown, buffer: unknown, offset: number, data: ArrayBufferView, dataOffset?: number, size?: number) => void };
    const write = queue.writeBuffer;
    queue.writeBuffer = function (this: unknown, buffer: unknown, offset: number, data: ArrayBufferView, dataOffset = 0, size?: number) {
      if (data.buffer instanceof SharedArrayBuffer) {
        const per = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
        const start = data.byteOffset + dataOffset * per;
        const bytes = size === undefined ? data.byteLength - dataOffset * per : size * per;
        return write.call(this, buffer, offset, new Uint8Array(data.buffer, start, bytes).slice());
      }
      return size === undefined ? write.call(this, buffer, offset, data, dataOffset) : write.call(this, buffer, offset, data, dataOffset, size);
    };
    // Kept on globalThis for the life of the process: Dawn must never see its GPU object collected.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
  }
  return import('onnxruntime-web/webgpu');
}

export async function ortWebNodeEngine(p: PreparedModel): Promise<Engine> {
  const ortw = await ortWeb();
  ortw.env.logLevel = 'error';
  const dims = attentionDims(p.def);
  const presents = Object.fromEntries(Array.from({ length: dims.layers }, (_, i) => ['key', 'value'].map((k) => [`present.${i}.${k}`, 'gpu-buffer'])).flat());
  const open = (file: string, gpuPresent: boolean) => async () =>
    (await ortw.InferenceSession.create(new Uint8Array(fs.readFileSync(file)), {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(gpuPresent ? { preferredOutputLocation: presents as Record<string, 'gpu-buffer'> } : {}),
    })) as unknown as SessionLike;
  return ortEngine({ Tensor: ortw.Tensor as never, plain: open(p.onnx, false), withPast: open(p.onnxPast, true), ...dims });
}
