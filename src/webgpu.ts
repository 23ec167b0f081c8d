// `rhc/webgpu`: the runtime a compiled artifact runs on, the same in Node (Dawn, the `webgpu`
// package) and in browsers (navigator.gpu). Generated model.ts / model.mjs import it, and a page
// bundles it, so nothing reachable from here may import a node: module or a Node-only package
// (test/webgpu.test.ts walks the imports). Node-only helpers (nodeFiles) are in `rhc/node`.
// The declarations name WebGPU's types (GPUDevice, ...) as globals: TypeScript 6's DOM library
// has them, and so does @webgpu/types (adding both to one program conflicts).

// A device: navigator.gpu in a page; Dawn in Node (SwiftShader when there is no GPU).
export { acquireDevice, GpuContext, GpuError, type AcquireOptions, type AdapterSummary, type GpuErrorKind } from './runtime/webgpu/device.ts';

// An artifact's files from wherever they are served, read back and checked against its manifest.
export {
  ARTIFACT_FORMAT,
  ARTIFACT_FORMAT_VERSION,
  FileTooLarge,
  fetchFiles,
  openSafetensors,
  readArtifact,
  validateManifest,
  type ArtifactFileEntry,
  type ArtifactFiles,
  type ArtifactManifest,
} from './runtime/webgpu/artifact-files.ts';
export type { SafetensorsFile, SafetensorsTensor } from './io/safetensors-format.ts';

// An artifact with a checkpoint on a device: what the generated classes call.
export { checkCheckpointConfig, idBatch, loadArtifactModel, type CheckpointSource, type LoadedArtifactModel } from './runtime/webgpu/artifact-model.ts';
export { WebGpuModel, type TensorData, type WeightSource } from './runtime/webgpu/model.ts';
export type { WebGpuArtifact, WebGpuPlan } from '../backends/webgpu/plan.ts';

// Generation over any decoder, token by token.
export type { Decoder } from './runtime/decoder.ts';
export { generateTokens, type GenerateOptions } from './runtime/generate.ts';
export { argmax, candidates, type SamplingOptions } from './runtime/sampling.ts';

// GPT-2's byte-level BPE (offline), for text in and out.
export { EOT_TEXT, EOT_TOKEN, VOCAB_SIZE, TokenStreamDecoder, decode, decodeIncremental, encode, type EncodeOptions } from './io/tokenizer.ts';

export { RhcError } from './errors.ts';
