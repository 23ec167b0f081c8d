// The bench's page: runs one engine at a time, rhc (the artifact and checkpoint fetched from
// this origin, as examples/browser does) or onnxruntime-web's WebGPU EP (rhc's ONNX exports of
// the same checkpoint), through the same protocol as Node. The driver calls window.benchRun.

import { acquireDevice, fetchFiles, loadArtifactModel } from '../rhc-runtime.ts';
import { rhcEngine } from '../runners/rhc.ts';
import { ortEngine, type SessionLike } from '../runners/ort.ts';
import { runWorkload, type EngineResult, type Workload } from '../runners/protocol.ts';

export interface PageTask {
  kind: 'rhc' | 'ort-web';
  /** the model's directory on this origin: checkpoint/, artifact/, model.onnx, model-past.onnx */
  base: string;
  workload: Workload;
  attention: { layers: number; heads: number; headDim: number; vocab: number };
}

export type PageResult = { ok: true; adapter: string; result: EngineResult } | { ok: false; error: string };

declare global {
  interface Window {
    benchRun?: (task: PageTask) => Promise<PageResult>;
    benchReady?: boolean;
  }
}

/** The URL of onnxruntime-web's files on this origin (the driver serves its dist/ there). */
const ORT = '/ort/';

async function runRhc(task: PageTask): Promise<PageResult> {
  const ctx = await acquireDevice();
  try {
    const { model } = await loadArtifactModel(ctx, fetchFiles(`${task.base}artifact/`), fetchFiles(`${task.base}checkpoint/`));
    const engine = rhcEngine(model, task.attention.vocab);
    try {
      return { ok: true, adapter: ctx.describe(), result: await runWorkload(engine, task.workload) };
    } finally {
      await engine.dispose();
    }
  } finally {
    ctx.destroy();
  }
}

async function runOrtWeb(task: PageTask): Promise<PageResult> {
  const ort = (await import(/* @vite-ignore */ `${ORT}ort.webgpu.min.mjs`)) as typeof import('onnxruntime-web');
  ort.env.wasm.wasmPaths = ORT;
  ort.env.logLevel = 'error';
  const { layers } = task.attention;
  const presents = Object.fromEntries(Array.from({ length: layers }, (_, i) => ['key', 'value'].map((k) => [`present.${i}.${k}`, 'gpu-buffer' as const])).flat());
  const open = (file: string, gpuPresent: boolean) => async () =>
    (await ort.InferenceSession.create(`${task.base}${file}`, {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(gpuPresent ? { preferredOutputLocation: presents } : {}),
    })) as unknown as SessionLike;
  const engine = ortEngine({ Tensor: ort.Tensor as never, plain: open('model.onnx', false), withPast: open('model-past.onnx', true), ...task.attention });
  try {
    const result = await runWorkload(engine, task.workload);
    const info = (await navigator.gpu.requestAdapter())?.info;
    return { ok: true, adapter: info ? `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim() : 'unknown', result };
  } finally {
    await engine.dispose();
  }
}

window.benchRun = async (task) => {
  try {
    return await (task.kind === 'rhc' ? runRhc(task) : runOrtWeb(task));
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
};
window.benchReady = true;
