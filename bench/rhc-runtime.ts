// The bench's door into rhc's runtime, for code that also runs in a browser (no Node APIs, no
// compiler). With bench/rhc-api.ts (which re-exports this file) it is the only place the bench
// imports rhc's own modules: when the runtime moves, these lines change and nothing else does.

export { acquireDevice, type GpuContext } from '../src/runtime/webgpu/device.ts';
export { WebGpuModel } from '../src/runtime/webgpu/model.ts';
export { fetchFiles } from '../src/runtime/webgpu/artifact-files.ts';
export { loadArtifactModel } from '../src/runtime/webgpu/artifact-model.ts';
export type { Decoder } from '../src/runtime/decoder.ts';
export { DTYPES, isDType } from '../src/ir/dtypes.ts';
export {
  evalDimText,
  gridDimSize,
  type PlanBuffer,
  type PlanDispatch,
  type WebGpuArtifact,
  type WebGpuPlan,
} from '../backends/webgpu/plan.ts';
