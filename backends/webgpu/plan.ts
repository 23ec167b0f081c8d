// The WebGPU plan: everything a runtime needs to execute a compiled model, as JSON. Kernels are
// WGSL files beside it; the plan says which buffers exist (and what fills them), which kernel
// runs in which order with which buffers bound, and how uniforms and workgroup counts follow
// from the run-time sizes (B, S, P). Sizes are dim polynomials written as dims.ts prints them
// ("B*S", "P + S"), over the plan's own symbol names (always plain identifiers).
//
// This file is pure (no Node, no WebGPU): the browser runtime imports it unchanged.

import { byteSize, type DType } from '../../src/ir/dtypes.ts';
import { dimEval, parseDim } from '../../src/ir/dims.ts';

export const PLAN_FORMAT = 'rhc-webgpu-plan';
export const PLAN_VERSION = 3;
/** Byte stride between the uniform blocks of consecutive dispatches (minUniformBufferOffsetAlignment's maximum). */
export const UNIFORM_STRIDE = 256;
/** The WebGPU default maxStorageBufferBindingSize: what every adapter and browser grants. */
export const DEFAULT_MAX_BINDING_BYTES = 128 * 2 ** 20;

/** A size: a constant or a dim polynomial over the plan's symbols. */
export type DimText = number | string;
export type PlanDType = DType;
/** 'table': computed by the prepare dispatches from weights and constants, then read by every run */
export type BufferRole = 'weight' | 'constant' | 'table' | 'activation' | 'input' | 'output';

export interface PlanSymbol {
  /** the identifier dim texts use */
  name: string;
  /** the largest value buffers are sized for */
  max: number;
  /** the symbol's name in the IR, when it differs (a spec name, kept for display only) */
  source?: string;
}

/** A buffer too big for one binding is split along its rows into separate GPUBuffers. */
export interface PlanChunking {
  rows: number;
  /** elements per row; chunks hold whole rows */
  rowElements: number;
  rowsPerChunk: number;
  chunks: number;
}

export interface PlanBuffer {
  id: number;
  role: BufferRole;
  dtype: PlanDType;
  /** allocation size at the symbols' maxima (a multiple of 16) */
  bytes: number;
  /** logical shape, where one value owns the buffer (activations are shared by several) */
  shape?: DimText[];
  chunking?: PlanChunking;
  /** weights: the checkpoint tensor that fills it */
  checkpoint?: string;
  /** constants: where its bytes are in the artifact's constants blob (little-endian f32/i32) */
  constant?: { byteOffset: number; byteLength: number };
  /** what it holds, for humans (sanitised) */
  label: string;
}

export interface PlanKernel {
  name: string;
  file: string;
  entryPoint: string;
  /** storage buffers it binds (checked against maxStorageBuffersPerShaderStage) */
  storageBindings: number;
  workgroupSize: [number, number, number];
}

/** @binding(i + 1) of a dispatch (@binding(0) is always its uniform block). */
export interface PlanBinding {
  buffer: number;
  /** one chunk of a chunked buffer */
  chunk?: number;
  /** an index into decoding.caches: a decoder binds its own cache buffer here instead */
  kvCache?: number;
}

/** Workgroups along one axis: ceil(clamp(count - base, 0, limit) / per). */
export interface GridDim {
  count: DimText;
  per?: number;
  base?: number;
  limit?: number;
}

/**
 * `linear`: a 1-D range of workgroups the runtime folds into x and y when it exceeds
 * maxComputeWorkgroupsPerDimension (the kernel recomputes the flat id from num_workgroups).
 */
export type PlanGrid = { linear: GridDim } | { x: GridDim; y?: GridDim; z?: GridDim };

export interface PlanDispatch {
  kernel: number;
  /** the IR node(s) it computes, for errors and profiles (sanitised) */
  label: string;
  bindings: PlanBinding[];
  /** u32 fields of the kernel's uniform block, in order: the symbols first, then the kernel's own */
  uniforms: DimText[];
  grid: PlanGrid;
}

export interface PlanIO {
  name: string;
  dtype: PlanDType;
  shape: DimText[];
  buffer: number;
  /** i32 inputs used as row indices: every value must be in [0, rows) */
  indexes?: { rows: number; table: string };
}

export interface PlanKvCache {
  layer: number;
  kind: 'key' | 'value';
  /** [batch, heads, capacity, head_dim]; the batch dim is the plan's batch symbol */
  shape: DimText[];
  bytesPerBatchRow: number;
  /** the activation buffer full-sequence runs use (a forward needs layer i's cache only within layer i) */
  forwardBuffer: number;
}

export interface PlanDecoding {
  idsInput: string;
  positionsInput: string;
  logitsOutput: string;
  batchSymbol: string;
  seqSymbol: string;
  /** the cached length P: keys/values of positions 0..P-1 are in the caches */
  pastSymbol: string;
  /** positions a cache holds (n_positions) */
  capacity: number;
  /**
   * Logits are computed for the last R positions only (the `last-rows` pass), R this symbol:
   * a forward binds it to the sequence length, a decoder to 1, so its lm_head runs on one row.
   * Absent: logits of every position (a decoder reads the last row).
   */
  logitRowsSymbol?: string;
  caches: PlanKvCache[];
}

export interface WebGpuPlan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  spec: string;
  model: string;
  config: Record<string, number | boolean | string>;
  symbols: PlanSymbol[];
  /** the largest binding the plan was split for */
  maxBindingBytes: number;
  requirements: {
    maxStorageBufferBindingSize: number;
    maxStorageBuffersPerShaderStage: number;
    maxComputeInvocationsPerWorkgroup: number;
  };
  memory: PlanMemory;
  uniformStride: number;
  kernels: PlanKernel[];
  buffers: PlanBuffer[];
  inputs: PlanIO[];
  outputs: PlanIO[];
  decoding?: PlanDecoding;
  /**
   * The first `prepare` dispatches compute what depends on no input (the position tables, from
   * weights and constants): the runtime runs them once, after uploading the weights; a run does
   * the rest.
   */
  prepare: number;
  /** where cos/sin come from: tables computed at load, or per forward and why */
  positionTables: PlanPositionTables;
  dispatches: PlanDispatch[];
}

export type PlanPositionTables = { at: 'load'; bytes: number; tables: number } | { at: 'forward'; reason: string };

/**
 * What the plan allocates, in bytes, by kind (informative: the runtime allocates from `buffers`).
 * Sizes are at the symbols' maxima, rounded as allocated (whole 16-byte words).
 */
export interface PlanMemory {
  /** checkpoint tensors */
  weights: number;
  /** buffers filled from the constants blob (tabulated cos/sin, folded frequencies) */
  constants: number;
  /** buffers the prepare dispatches compute at load (position tables) */
  tables: number;
  /**
   * `planned`: the activation buffers after sharing (what a forward allocates, its KV caches
   * among them); `withoutReuse`: were every value given a buffer of its own
   */
  activations: { planned: number; withoutReuse: number };
  inputs: number;
  outputs: number;
  /** a decoder's own caches: bytes for one sequence, and for `maxBatch` sequences */
  kvCache?: { perBatchRow: number; atMaxBatch: number; maxBatch: number };
}

/** What compileWebGpu produces and the runtime consumes. */
export interface WebGpuArtifact {
  plan: WebGpuPlan;
  /** file name (e.g. 'k012_matmul.wgsl') -> WGSL source */
  kernels: Record<string, string>;
  /** bytes of the constant buffers (tabulated cos/sin, folded constants), when there are any */
  constants?: Uint8Array;
}

const parsed = new Map<string, ReturnType<typeof parseDim>>();

/** The value of a dim text with every symbol bound. */
export function evalDimText(d: DimText, values: ReadonlyMap<string, number>): number {
  if (typeof d === 'number') return d;
  let dim = parsed.get(d);
  if (!dim) parsed.set(d, (dim = parseDim(d)));
  return dimEval(dim, values);
}

export function gridDimSize(g: GridDim, values: ReadonlyMap<string, number>): number {
  const n = Math.min(Math.max(evalDimText(g.count, values) - (g.base ?? 0), 0), g.limit ?? Infinity);
  return Math.ceil(n / (g.per ?? 1));
}

export function chunkElements(c: PlanChunking): number {
  return c.rowElements * c.rowsPerChunk;
}

/** Bytes one binding of a buffer takes: a whole chunk when it is split, else all of it. */
export function bindingBytes(b: { readonly dtype: DType; readonly bytes: number; readonly chunking?: PlanChunking }): number {
  return b.chunking ? byteSize(b.dtype, chunkElements(b.chunking)) : b.bytes;
}

/** Checks the format and version of a plan read from JSON. */
export function checkPlan(plan: unknown): WebGpuPlan {
  const p = plan as Partial<WebGpuPlan> | null;
  if (!p || p.format !== PLAN_FORMAT)
    throw new Error(`not an rhc WebGPU plan (format '${String(p?.format)}', expected '${PLAN_FORMAT}')`);
  if (p.version === PLAN_VERSION && (!Number.isInteger(p.prepare) || p.prepare! < 0 || p.prepare! > (p.dispatches?.length ?? 0)))
    throw new Error(`WebGPU plan: prepare ${String(p.prepare)} is not a count of its first dispatches`);
  if (p.version !== PLAN_VERSION)
    throw new Error(`WebGPU plan version ${String(p.version)} is not supported (this runtime reads version ${PLAN_VERSION}); recompile the model`);
  return p as WebGpuPlan;
}
