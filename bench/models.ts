// The models the bench runs, and their files: a seeded checkpoint, rhc's WebGPU artifact and
// its two ONNX exports, written once per run under a work directory (nothing here is kept).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchModel, writeBenchArtifact, type Dims, type OptLevel } from './rhc-api.ts';

export interface ModelDef {
  name: string;
  /** a spec under spec/ */
  spec: string;
  dims: Dims;
  about: string;
}

const GP_NORM = 'gp-norm';

/** Decode is measured up to 512 tokens of context plus a few steps: n_positions leaves room. */
export const MODELS: Readonly<Record<string, ModelDef>> = {
  tiny: { name: 'tiny', spec: GP_NORM, dims: { n_embd: 256, n_layer: 4, n_head: 4, vocab_size: 50257, n_positions: 1024 }, about: 'gp-norm, n_embd 256, 4 layers, 4 heads, vocab 50257' },
  small: { name: 'small', spec: GP_NORM, dims: { n_embd: 768, n_layer: 12, n_head: 12, vocab_size: 50257, n_positions: 1024 }, about: 'gp-norm at GPT-2 small dims (768, 12 layers, 12 heads)' },
  // For dry runs and checks of the bench itself: seconds, not minutes, on SwiftShader.
  micro: { name: 'micro', spec: GP_NORM, dims: { n_embd: 64, n_layer: 2, n_head: 2, vocab_size: 2048, n_positions: 640 }, about: 'gp-norm, n_embd 64, 2 layers, vocab 2048 (bench self-check)' },
};

/** What compile time is measured on: GPT-2 medium's dims. */
export const COMPILE_MODEL: ModelDef = { name: 'gpt2-medium', spec: GP_NORM, dims: { n_embd: 1024, n_layer: 24, n_head: 16, vocab_size: 50257, n_positions: 1024 }, about: 'gp-norm at GPT-2 medium dims (1024, 24 layers, 16 heads)' };

/** rhc's root: the first folder up from here with spec/gpt2.rh (bench/ in the tree, tmp/bench-device/ bundled). */
export const ROOT = ((): string => {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'spec', 'gpt2.rh'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no rhc tree (spec/gpt2.rh) above ${import.meta.dirname}`);
  }
})();

export function specFile(def: ModelDef): string {
  return path.join(ROOT, 'spec', `${def.spec}.rh`);
}

export interface PreparedModel {
  def: ModelDef;
  model: ReturnType<typeof benchModel>;
  dir: string;
  checkpoint: string;
  artifact: string;
  onnx: string;
  onnxPast: string;
}

/** Writes the checkpoint, the artifact and the ONNX exports of `def` under `work/<name>`. */
export async function prepareModel(def: ModelDef, work: string, level: OptLevel, withOnnx: boolean): Promise<PreparedModel> {
  const dir = path.join(work, def.name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const model = benchModel(specFile(def), def.dims, 7);
  const p: PreparedModel = { def, model, dir, checkpoint: path.join(dir, 'checkpoint'), artifact: path.join(dir, 'artifact'), onnx: path.join(dir, 'model.onnx'), onnxPast: path.join(dir, 'model-past.onnx') };
  model.save(p.checkpoint);
  writeBenchArtifact(model.graph, specFile(def), p.artifact, level);
  if (withOnnx) {
    await model.exportOnnx(p.onnx, false);
    await model.exportOnnx(p.onnxPast, true);
  }
  return p;
}

/** Heads and head size of a model, for past_key_values shapes. */
export function attentionDims(def: ModelDef): { layers: number; heads: number; headDim: number; vocab: number } {
  const d = def.dims;
  return { layers: d.n_layer, heads: d.n_head, headDim: d.n_embd / d.n_head, vocab: d.vocab_size };
}
