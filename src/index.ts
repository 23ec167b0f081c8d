// `rhc`: the compiler as a library (Node). The package's public API is this module and
//   rhc/webgpu  src/webgpu.ts  the runtime of compiled artifacts, for Node and browsers
//   rhc/node    src/node.ts    reading artifacts and checkpoints from disk (nodeFiles)
//   rhc/onnx    src/onnx.ts    the ONNX backend: export, and running with onnxruntime-node
// Nothing else under src/ or backends/ is imported from outside rhc (package.json's exports).
// README's "Library" section shows them together; test/readme.test.ts runs that example.

// Specs: check, lower, weights, the reference interpreter, and the compile targets, as the CLI does them.
export {
  checkSpec,
  compileOnnx,
  compileWebGpuArtifact,
  formatDiagnostics,
  initWeights,
  loadCheckpoint,
  lowerSpec,
  referenceForward,
  type CheckResult,
  type ConfigValues,
  type OnnxCompileOptions,
  type SpecInput,
  type SpecOptions,
  type WebGpuCompileOptions,
} from './library.ts';
export { saveModel as saveCheckpoint, type Model, type SaveOptions } from './model/model.ts';
/** The path of a spec in rhc's own library (`bundledSpec('gp-norm')`: .../spec/gp-norm.rh). */
export { bundledSpec } from './model/spec.ts';

// The IR: print it as `rhc ir` does, serialise it, run passes (the pipeline `rhc ir --after` shows).
export type { Graph, Node } from './ir/graph.ts';
export { printGraph } from './ir/printer.ts';
export { graphFromJson, graphToJson } from './ir/serialize.ts';
export { IR_PIPELINE, PASSES, PIPELINE, pipelineStages, runPipeline, type PassContext, type PassName } from './passes/pipeline.ts';
export { OPT_LEVELS, type OptLevel } from './passes/fuse.ts';

// What a compiled WebGPU artifact is (files in memory; its manifest).
export type { Artifact } from '../backends/webgpu/artifact.ts';
export type { ArtifactManifest } from './runtime/webgpu/artifact-files.ts';
export type { ExportResult } from '../backends/onnx/index.ts';

// Errors: a spec's diagnostics (with the sources they quote), and one problem with the input.
export { DiagnosticsError, renderDiagnostic, type Diagnostic, type SourceLocation, type SourceMap } from './dsl/diagnostics.ts';
export { RhcError } from './errors.ts';
export { PACKAGE_VERSION as version } from './package.ts';
