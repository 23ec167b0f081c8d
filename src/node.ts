// `rhc/node`: the Node-only side of the runtime. rhc/webgpu reads an artifact and a checkpoint
// through ArtifactFiles, which a page gets from fetchFiles(url); in Node they are files on
// disk, read here (safetensors lazily, tensor by tensor). Kept apart from rhc/webgpu so that a
// browser bundle never meets node:fs.

export { nodeFiles } from './runtime/webgpu/node-files.ts';
export { readSafetensors, writeSafetensors, type TensorToWrite } from './io/safetensors.ts';
