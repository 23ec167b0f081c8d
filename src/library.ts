// What the `rhc` commands do, as functions (src/index.ts lists them as the package's API): check
// a spec, lower it to IR, make or load weights, run the reference interpreter, compile for WebGPU
// or ONNX. A spec is a path, or source text with the path it stands for (its imports resolve from
// there, then from rhc's spec library). Config values are given as the JSON values they are
// ({ n_layer: 2 }) and checked as `--set` is: an unknown name is an error. Problems with a spec
// are thrown as DiagnosticsError (formatDiagnostics renders them as the CLI prints them); other
// bad input as RhcError. Node only: the runtime for pages is `rhc/webgpu`.
//
// The emitters load on first use, so importing 'rhc' does not load ts-morph, onnx-proto or
// onnxruntime.

import * as path from 'node:path';
import type { Artifact } from '../backends/webgpu/artifact.ts';
import type { ExportResult } from '../backends/onnx/index.ts';
import { checkFile, compileModel } from './dsl/compile.ts';
import type { ConfigOverride } from './dsl/config.ts';
import { DiagnosticsError, renderDiagnostic, type Diagnostic, type SourceMap } from './dsl/diagnostics.ts';
import type { Graph } from './ir/graph.ts';
import type { Precision } from './ir/reference.ts';
import { checkpointFiles } from './io/checkpoint.ts';
import { checkOutputNotInput } from './io/files.ts';
import { graphForCheckpoint, initModel, loadModel, type Model } from './model/model.ts';
import { specName } from './model/spec.ts';
import type { OptLevel } from './passes/fuse.ts';
import { cpuBackend } from './runtime/backends.ts';
import { idBatch } from './runtime/webgpu/artifact-model.ts';

/** A spec: a .rh file's path, or its source text with the path it stands for. */
export type SpecInput = string | { readonly file: string; readonly text: string };

/** Config values by name, as config.json holds them (`{ n_layer: 2, activation_function: 'gelu' }`). */
export type ConfigValues = Readonly<Record<string, number | boolean | string>>;

export interface SpecOptions {
  /** overrides of the spec's config defaults, checked as `--set` is */
  config?: ConfigValues;
}

function specOf(spec: SpecInput): { file: string; text?: string } {
  return typeof spec === 'string' ? { file: spec } : { file: spec.file, text: spec.text };
}

function overridesOf(config: ConfigValues | undefined): ConfigOverride[] {
  // exact: a value is taken as the type it has, as config.json's are (the string '2' is no int).
  return Object.entries(config ?? {}).map(([name, value]) => ({ name, value, origin: 'config option', strict: true, exact: true }));
}

/** Diagnostics as `rhc check` prints them: `file:line:col: error: message`, the line, a caret. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], sources: SourceMap): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  return [...diagnostics.map((d) => renderDiagnostic(d, sources)), ...(errors > 1 ? [`${errors} errors`] : [])].join('\n');
}

export interface CheckResult {
  /** no errors (there may be warnings) */
  ok: boolean;
  diagnostics: Diagnostic[];
  /** the text of every file read, which the diagnostics quote */
  sources: SourceMap;
  /** the diagnostics rendered as `rhc check` prints them ('' when there are none) */
  report: string;
}

/** `rhc check`: parses and checks the spec (every model, function and argument-free module). */
export function checkSpec(spec: SpecInput, opts: SpecOptions = {}): CheckResult {
  const { file, text } = specOf(spec);
  const r = checkFile(file, { overrides: overridesOf(opts.config), text });
  return { ok: !r.diagnostics.some((d) => d.severity === 'error'), diagnostics: r.diagnostics, sources: r.sources, report: formatDiagnostics(r.diagnostics, r.sources) };
}

/** The spec's model lowered, with every .rh file it read (`inputs`, absolute paths). */
function lowered(spec: SpecInput, opts: SpecOptions & { model?: string }): { graph: Graph; inputs: string[] } {
  const { file, text } = specOf(spec);
  const r = compileModel(file, { overrides: overridesOf(opts.config), text, ...(opts.model !== undefined ? { model: opts.model } : {}) });
  if (!r.graph) throw new DiagnosticsError(r.diagnostics, r.sources);
  // The loader keys its sources by display path (relative to the working directory, or absolute).
  return { graph: r.graph, inputs: [...r.sources.keys()].map((f) => path.resolve(f)) };
}

/** `rhc ir`: the spec's model (its first, or the one named) lowered to IR; run passes on it with runPipeline. */
export function lowerSpec(spec: SpecInput, opts: SpecOptions & { model?: string } = {}): Graph {
  return lowered(spec, opts).graph;
}

/** `rhc init-weights`: the model with GPT-2's initialisation (the same seed, the same weights); saveCheckpoint writes it. */
export function initWeights(spec: SpecInput, opts: SpecOptions & { seed?: number } = {}): Model {
  const { file, text } = specOf(spec);
  return initModel(file, { seed: opts.seed ?? 0, overrides: overridesOf(opts.config), text });
}

/** A Hugging Face checkpoint directory (config.json + model.safetensors) with its spec: the one config.json selects, or `spec`. */
export function loadCheckpoint(dir: string, opts: SpecOptions & { spec?: SpecInput } = {}): Model {
  const spec = opts.spec === undefined ? undefined : specOf(opts.spec);
  return loadModel(dir, { overrides: overridesOf(opts.config), ...(spec ? { spec: spec.file, specText: spec.text } : {}) });
}

/**
 * `rhc forward --backend cpu`: logits [batch, seq, vocab] (C order) of one sequence of token ids
 * or a batch of equally long ones, from the reference interpreter (f32, rounding every op
 * result as a GPU does; 'f64' for the oracle).
 */
export async function referenceForward(model: Pick<Model, 'graph' | 'weights'>, ids: readonly number[] | readonly (readonly number[])[], opts: { precision?: Precision } = {}): Promise<Float32Array> {
  const batch = idBatch(ids, model.graph.config.vocab_size as number, model.graph.config.n_positions as number);
  return cpuBackend(opts.precision ?? 'f32').forward({ graph: model.graph, weights: model.weights, ...batch });
}

export interface WebGpuCompileOptions extends SpecOptions {
  /** compile for this checkpoint's config (its config.json), as `--weights` does */
  weights?: string;
  /** the largest batch the plan allocates for (default 1) */
  maxBatch?: number;
  /** -O level: 0 (one kernel per op), 1 (matmul epilogues), 2 (every fusion rule; the default) */
  level?: OptLevel;
  /** write the artifact here, replacing the directory whole (as rhc compile does); in memory only when absent */
  outDir?: string;
  /** replace `outDir` even when it holds files that are no rhc artifact's (they are deleted) */
  force?: boolean;
}

/**
 * `rhc compile --target webgpu`: WGSL kernels, the runtime plan, manifest and the typed module
 * (model.ts, model.mjs, model.d.mts, importing 'rhc/webgpu'), as files in memory (`files`, by
 * relative path), written to `outDir` when given.
 */
export async function compileWebGpuArtifact(spec: SpecInput, opts: WebGpuCompileOptions = {}): Promise<Artifact> {
  const [{ buildArtifactOverlapped, checkArtifactTarget, writeArtifact }, { startModuleGenerator }] = await Promise.all([
    import('../backends/webgpu/artifact.ts'),
    import('../backends/webgpu/module-generator.ts'),
  ]);
  const { file, text } = specOf(spec);
  const overrides = overridesOf(opts.config);
  if (opts.outDir !== undefined) checkArtifactTarget(opts.outDir, { force: opts.force });
  const generator = startModuleGenerator(); // ts-morph loads on a worker thread meanwhile
  let artifact: Artifact;
  try {
    const { graph, inputs } = opts.weights !== undefined ? graphForCheckpoint(opts.weights, { spec: file, specText: text, overrides }) : lowered(spec, opts);
    if (opts.outDir !== undefined) checkOutputNotInput(opts.outDir, inputs, 'outDir');
    artifact = await buildArtifactOverlapped(graph, { specFile: file, ...(text !== undefined ? { specText: text } : {}), maxBatch: opts.maxBatch, ...(opts.level !== undefined ? { level: opts.level } : {}) }, generator);
  } finally {
    generator.dispose();
  }
  if (opts.outDir !== undefined) writeArtifact(opts.outDir, artifact, { force: opts.force });
  return artifact;
}

export interface OnnxCompileOptions extends SpecOptions {
  /** the .onnx file to write (initializers above 2 GiB go to `<out>.data`) */
  out: string;
  /** take weights and config from this checkpoint instead of initialising fresh ones */
  weights?: string;
  /** seed of fresh weights (default 0) */
  seed?: number;
  /** add past_key_values inputs and present outputs, named as Optimum does */
  withPast?: boolean;
  /** opset version (17..21; default 17) */
  opset?: number;
  /** overwrite `out` even when rhc did not write it */
  force?: boolean;
}

/** `rhc compile --target onnx`: a standard ONNX model with the weights as initializers. */
export async function compileOnnx(spec: SpecInput, opts: OnnxCompileOptions): Promise<ExportResult> {
  const { exportOnnx } = await import('../backends/onnx/index.ts');
  const refuseInputs = (inputs: readonly string[]) => [opts.out, `${opts.out}.data`].forEach((o) => checkOutputNotInput(o, inputs, 'out'));
  refuseInputs([specOf(spec).file, ...(opts.weights !== undefined ? checkpointFiles(opts.weights) : [])]);
  const model = opts.weights !== undefined ? loadCheckpoint(opts.weights, { spec, config: opts.config }) : initWeights(spec, opts);
  refuseInputs(model.inputs);
  return exportOnnx(model.graph, model.weights, {
    withPast: opts.withPast,
    opset: opts.opset,
    specName: specName(model.specFile),
    hfConfig: model.hfConfig,
    outPath: opts.out,
    force: opts.force,
  });
}
