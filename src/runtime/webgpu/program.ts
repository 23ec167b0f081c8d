// A WebGPU plan instantiated on a device: its buffers (weights and constants uploaded once,
// activations allocated once at their maximum size), one compiled pipeline per kernel, one
// uniform block per dispatch, bind groups made once per set of KV caches. A run writes the
// inputs and uniforms, encodes every dispatch into one compute pass, copies only the requested
// ranges out, and submits once. Nothing here is Node-specific: browsers run the same file.

import { byteSize, DTYPES, type DType } from '../../ir/dtypes.ts';
import { bindingBytes, checkPlan, evalDimText, gridDimSize, type PlanBuffer, type PlanDispatch, type PlanGrid, type WebGpuArtifact, type WebGpuPlan } from '../../../backends/webgpu/plan.ts';
import { BufferUsage, GpuError, MapMode, createBuffersChecked, fromGpuError, type GpuContext } from './device.ts';
import { PipelineCache } from './pipelines.ts';
import { RhcError } from '../../errors.ts';
import { createPlanBuffers, type CacheSet, type ChunkedBuffer, type WeightSource } from './program-buffers.ts';

export type { CacheSet, WeightSource } from './program-buffers.ts';

/** Elements [start, start + count) of a plan buffer, read back after a run. */
export interface ReadRequest {
  buffer: number;
  dtype: DType;
  start: number;
  count: number;
}

export interface RunRequest {
  /** plan symbol -> value */
  dims: ReadonlyMap<string, number>;
  /** plan input name -> data (already checked against its shape) */
  inputs: ReadonlyMap<string, Int32Array | Float32Array>;
  /** a decoder's caches; omitted: the forward program's own activations */
  caches?: CacheSet;
  reads: readonly ReadRequest[];
  /**
   * After the dispatches, in the same submission: copy buffer `from` over buffer `to` (a
   * training step's new parameters over the old), then zero the `clears`. Both buffers of a
   * copy must have the same size and chunking.
   */
  copies?: readonly { from: number; to: number }[];
  clears?: readonly number[];
  /** only write the inputs and read back (the current contents of buffers, a training state) */
  skipDispatches?: boolean;
  /**
   * Profiling (bench/profile-step.ts): submit each dispatch on its own and wait for it, calling
   * this with its wall time. Much slower than a normal run; for finding the costly kernels only.
   */
  profile?: (dispatch: PlanDispatch, ms: number) => void;
}

// Pipelines are shared by every model on a device: identical kernels compile once.
const pipelineCaches = new WeakMap<GpuContext, PipelineCache>();

export class PlanProgram {
  private readonly uniformHost: Uint32Array;
  private readonly bindGroups = new Map<CacheSet | undefined, GPUBindGroup[]>();
  private queue: Promise<unknown> = Promise.resolve();
  private destroyed = false;
  /** readback buffers by size, reused run after run (a training loop reads its loss every step) */
  private readonly staging = new Map<number, GPUBuffer[]>();

  private constructor(
    readonly ctx: GpuContext,
    readonly plan: WebGpuPlan,
    private readonly buffers: Map<number, ChunkedBuffer>,
    private readonly pipelines: GPUComputePipeline[],
    private readonly uniforms: GPUBuffer,
  ) {
    this.uniformHost = new Uint32Array((plan.dispatches.length * plan.uniformStride) / 4);
  }

  static async create(ctx: GpuContext, artifact: WebGpuArtifact, weights: WeightSource): Promise<PlanProgram> {
    const plan = checkPlan(artifact.plan);
    checkLimits(ctx, plan);
    let cache = pipelineCaches.get(ctx);
    if (!cache) pipelineCaches.set(ctx, (cache = new PipelineCache(ctx)));
    const pipelines = Promise.all(
      plan.kernels.map((k) => {
        const code = artifact.kernels[k.file];
        if (code === undefined) throw new GpuError('compile', `the artifact has no kernel file '${k.file}' its plan names`);
        return cache.get({ name: k.name, code, entryPoint: k.entryPoint });
      }),
    );
    pipelines.catch(() => undefined); // awaited below; a failure while uploading must not go unhandled
    const buffers = await createPlanBuffers(ctx, plan, artifact.constants, weights);
    let uniforms: GPUBuffer | undefined;
    try {
      uniforms = ctx.device.createBuffer({
        label: 'rhc uniforms',
        size: Math.max(plan.dispatches.length * plan.uniformStride, 16),
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      });
      const program = new PlanProgram(ctx, plan, buffers, await pipelines, uniforms);
      await program.prepareTables();
      return program;
    } catch (e) {
      uniforms?.destroy();
      for (const b of buffers.values()) b.destroy();
      throw e;
    }
  }

  /**
   * KV caches for a decoder of `batch` rows (one buffer per layer and key/value). A cache larger
   * than one binding throws at once; the allocation itself is checked on the device, so the
   * promise rejects with an error naming the KV cache when the device cannot hold it.
   */
  createCaches(batch: number): Promise<CacheSet> {
    const caches = this.plan.decoding?.caches ?? [];
    const descriptors = caches.map((c) => {
      const size = Math.max(16, Math.ceil((batch * c.bytesPerBatchRow) / 16) * 16);
      if (size > this.ctx.limits.maxStorageBufferBindingSize)
        throw new GpuError('limit', `the KV cache of layer ${c.layer} (${c.kind}s, ${size} bytes) exceeds maxStorageBufferBindingSize (${this.ctx.limits.maxStorageBufferBindingSize} bytes)`);
      return { label: `KV cache layer ${c.layer} ${c.kind}`, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST };
    });
    const bytes = descriptors.reduce((n, d) => n + d.size, 0);
    const layers = new Set(caches.map((c) => c.layer)).size;
    return createBuffersChecked(this.ctx, descriptors, `the KV cache for ${batch} sequence(s) (keys and values of ${layers} layer(s) in ${descriptors.length} buffers, ${bytes} bytes)`).then(
      (buffers) => ({ buffers, destroy: () => buffers.forEach((b) => b.destroy()) }),
    );
  }

  /** Forgets the bind groups of a cache set about to be destroyed. */
  release(caches: CacheSet): void {
    this.bindGroups.delete(caches);
  }

  /** Runs the whole plan once; runs are serialised (they share activations). */
  run(req: RunRequest): Promise<(Float32Array | Int32Array)[]> {
    const result = this.queue.then(() => this.runNow(req));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private bindGroupsFor(caches: CacheSet | undefined): GPUBindGroup[] {
    let groups = this.bindGroups.get(caches);
    if (groups) return groups;
    const { device } = this.ctx;
    groups = this.plan.dispatches.map((d, i) => {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniforms, offset: i * this.plan.uniformStride, size: this.plan.uniformStride } }];
      d.bindings.forEach((b, j) => {
        const buffer = caches && b.kvCache !== undefined ? caches.buffers[b.kvCache] : this.buffers.get(b.buffer)!.chunks[b.chunk ?? 0];
        entries.push({ binding: j + 1, resource: { buffer } });
      });
      return device.createBindGroup({ label: d.label, layout: this.pipelines[d.kernel].getBindGroupLayout(0), entries });
    });
    this.bindGroups.set(caches, groups);
    return groups;
  }

  /**
   * The plan's prepare dispatches (what reads no input: the position tables), once, now that the
   * weights are uploaded. Their sizes are concrete; the symbols in their uniform blocks are unread.
   */
  private async prepareTables(): Promise<void> {
    const { ctx, plan } = this;
    if (plan.prepare === 0) return;
    const dims = new Map(plan.symbols.map((s) => [s.name, 1]));
    const range = plan.dispatches.slice(0, plan.prepare).map((d, i) => ({ d, i }));
    this.writeUniforms(range, dims);
    const sizes = this.sizes(range, dims);
    const groups = this.bindGroupsFor(undefined);
    ctx.device.pushErrorScope('out-of-memory');
    ctx.device.pushErrorScope('validation');
    const encoder = ctx.device.createCommandEncoder({ label: 'rhc prepare' });
    this.encodeDispatches(encoder, range, sizes, groups, 'rhc prepare');
    ctx.device.queue.submit([encoder.finish()]);
    const validation = await ctx.device.popErrorScope();
    const oom = await ctx.device.popErrorScope();
    if (validation || oom) throw fromGpuError((validation ?? oom)!, 'computing the position tables at load');
  }

  private writeUniforms(range: readonly { d: PlanDispatch; i: number }[], dims: ReadonlyMap<string, number>): void {
    const stride = this.plan.uniformStride / 4;
    for (const { d, i } of range)
      d.uniforms.forEach((u, j) => {
        const v = evalDimText(u, dims);
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new GpuError('limit', `kernel ${d.label}: uniform ${j} is ${v}, not a u32`);
        this.uniformHost[i * stride + j] = v;
      });
    this.ctx.device.queue.writeBuffer(this.uniforms, 0, this.uniformHost);
  }

  /** Workgroup counts of `range`: computed (and refused when too many) before any error scope is open. */
  private sizes(range: readonly { d: PlanDispatch; i: number }[], dims: ReadonlyMap<string, number>): [number, number, number][] {
    return range.map(({ d }) => workgroups(d, dims, this.ctx.limits.maxComputeWorkgroupsPerDimension));
  }

  private encodeDispatches(encoder: GPUCommandEncoder, range: readonly { d: PlanDispatch; i: number }[], sizes: readonly [number, number, number][], groups: GPUBindGroup[], label: string): void {
    const pass = encoder.beginComputePass({ label });
    for (const [r, { d, i }] of range.entries()) {
      const [x, y, z] = sizes[r];
      if (x * y * z === 0) continue;
      pass.setPipeline(this.pipelines[d.kernel]);
      pass.setBindGroup(0, groups[i]);
      pass.dispatchWorkgroups(x, y, z);
    }
    pass.end();
  }

  private async profileDispatches(range: readonly { d: PlanDispatch; i: number }[], sizes: readonly [number, number, number][], groups: GPUBindGroup[], report: (d: PlanDispatch, ms: number) => void): Promise<void> {
    const { queue } = this.ctx.device;
    await queue.onSubmittedWorkDone();
    for (const [r, entry] of range.entries()) {
      const start = performance.now();
      const encoder = this.ctx.device.createCommandEncoder({ label: 'rhc profile' });
      this.encodeDispatches(encoder, [entry], [sizes[r]], groups, 'rhc profile');
      queue.submit([encoder.finish()]);
      await queue.onSubmittedWorkDone();
      report(entry.d, performance.now() - start);
    }
  }

  private async runNow(req: RunRequest): Promise<(Float32Array | Int32Array)[]> {
    if (this.destroyed) throw new GpuError('device-lost', 'this model was destroyed and cannot run any more');
    const { ctx, plan } = this;
    ctx.throwIfFailed();
    const { device } = ctx;
    const dims = req.dims;
    for (const input of plan.inputs) {
      const data = req.inputs.get(input.name);
      if (!data) throw new Error(`internal: no data for input '${input.name}'`);
      const target = this.buffers.get(input.buffer)!;
      if (data.length > 0) device.queue.writeBuffer(target.chunks[0], 0, data);
    }
    // A run is every dispatch after the prepare phase, which ran at load.
    const range = plan.dispatches.map((d, i) => ({ d, i })).slice(plan.prepare);
    this.writeUniforms(range, dims);
    const groups = this.bindGroupsFor(req.caches);
    const sizes = this.sizes(range, dims);

    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    if (req.profile && !req.skipDispatches) await this.profileDispatches(range, sizes, groups, req.profile);
    const encoder = device.createCommandEncoder({ label: 'rhc run' });
    if (!req.skipDispatches && !req.profile) this.encodeDispatches(encoder, range, sizes, groups, 'rhc run');
    for (const c of req.copies ?? []) this.copyBuffer(encoder, c.from, c.to);
    for (const id of req.clears ?? []) for (const chunk of this.buffer(id).chunks) encoder.clearBuffer(chunk);
    const staging = req.reads.map((r) => this.copyOut(encoder, r));
    device.queue.submit([encoder.finish()]);
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    try {
      if (validation || oom) throw fromGpuError((validation ?? oom)!, 'running the model');
      await Promise.all(staging.map((s) => s.mapAsync(MapMode.READ)));
      return req.reads.map((r, i) => {
        const bytes = byteSize(r.dtype, r.count);
        const data = new DTYPES[r.dtype].array(staging[i].getMappedRange(0, Math.max(bytes, 4)).slice(0, bytes));
        staging[i].unmap();
        return data;
      });
    } catch (e) {
      for (const s of staging) s.destroy();
      staging.length = 0;
      ctx.throwIfFailed(); // a lost device explains a failed mapAsync better
      throw e instanceof GpuError ? e : new GpuError('internal', `reading results back: ${(e as Error).message}`);
    } finally {
      for (const s of staging) this.releaseStaging(s);
    }
  }

  private buffer(id: number): ChunkedBuffer {
    const b = this.buffers.get(id);
    if (!b) throw new Error(`internal: the plan has no buffer ${id}`);
    return b;
  }

  /** The id of the buffer holding checkpoint tensor `name` (a weight, or a training state tensor). */
  weightBuffer(name: string): number {
    const b = this.plan.buffers.find((x) => x.role === 'weight' && x.checkpoint === name);
    if (!b) throw new RhcError(`the plan has no weight '${name}'`);
    return b.id;
  }

  private copyBuffer(encoder: GPUCommandEncoder, from: number, to: number): void {
    const a = this.buffer(from);
    const b = this.buffer(to);
    if (a.chunks.length !== b.chunks.length || a.chunks.some((c, i) => c.size !== b.chunks[i].size))
      throw new Error(`internal: buffers ${from} and ${to} differ in size or chunking; one cannot replace the other`);
    a.chunks.forEach((c, i) => encoder.copyBufferToBuffer(c, 0, b.chunks[i], 0, c.size));
  }

  private acquireStaging(size: number): GPUBuffer {
    const free = this.staging.get(size)?.pop();
    return free ?? this.ctx.device.createBuffer({ label: 'rhc readback', size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  }

  private releaseStaging(b: GPUBuffer): void {
    if (this.destroyed) return b.destroy();
    const list = this.staging.get(b.size) ?? [];
    list.push(b);
    this.staging.set(b.size, list);
  }

  /** Copies elements [start, start+count) of a (possibly chunked) buffer into a staging buffer. */
  private copyOut(encoder: GPUCommandEncoder, r: ReadRequest): GPUBuffer {
    const source = this.buffer(r.buffer);
    const size = DTYPES[r.dtype].bytes;
    const staging = this.acquireStaging(Math.max(16, Math.ceil((r.count * size) / 16) * 16));
    const per = source.chunkElements;
    for (let c = 0; c < source.chunks.length; c++) {
      const lo = Math.max(r.start, c * per);
      const hi = Math.min(r.start + r.count, (c + 1) * per);
      if (hi > lo) encoder.copyBufferToBuffer(source.chunks[c], (lo - c * per) * size, staging, (lo - r.start) * size, (hi - lo) * size);
    }
    return staging;
  }

  destroy(): void {
    this.destroyed = true;
    for (const b of this.buffers.values()) b.destroy();
    this.uniforms.destroy();
    this.bindGroups.clear();
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
  }
}

function workgroups(d: PlanDispatch, dims: ReadonlyMap<string, number>, max: number): [number, number, number] {
  const g: PlanGrid = d.grid;
  let size: [number, number, number];
  if ('linear' in g) {
    const n = gridDimSize(g.linear, dims);
    size = n <= max ? [n, 1, 1] : [max, Math.ceil(n / max), 1];
  } else size = [gridDimSize(g.x, dims), g.y ? gridDimSize(g.y, dims) : 1, g.z ? gridDimSize(g.z, dims) : 1];
  if (Math.max(...size) > max)
    throw new GpuError('limit', `kernel ${d.label}: ${size.join('x')} workgroups exceed maxComputeWorkgroupsPerDimension (${max})`);
  return size;
}

/** The device must grant what the plan was compiled for; say which tensor needs what, never hang. */
function checkLimits(ctx: GpuContext, plan: WebGpuPlan): void {
  const l = ctx.limits;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const need = plan.requirements;
  if (need.maxStorageBufferBindingSize > l.maxStorageBufferBindingSize || need.maxStorageBufferBindingSize > l.maxBufferSize) {
    const limit = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
    const biggest = plan.buffers.reduce<PlanBuffer | undefined>((m, b) => (bindingBytes(b) > (m ? bindingBytes(m) : 0) ? b : m), undefined);
    throw new GpuError('limit', `tensor '${biggest?.checkpoint ?? biggest?.label}' needs storage bindings of ${mib(bindingBytes(biggest!))}, more than this device's maxStorageBufferBindingSize/maxBufferSize of ${mib(limit)}; recompile the plan with a binding limit of at most ${limit} bytes (maxBindingBytes) so it is split into chunks`);
  }
  if (need.maxStorageBuffersPerShaderStage > l.maxStorageBuffersPerShaderStage) {
    const k = plan.kernels.find((x) => x.storageBindings > l.maxStorageBuffersPerShaderStage)!;
    throw new GpuError('limit', `kernel ${k.file} binds ${k.storageBindings} storage buffers; this device allows ${l.maxStorageBuffersPerShaderStage} (maxStorageBuffersPerShaderStage)`);
  }
  if (need.maxComputeInvocationsPerWorkgroup > l.maxComputeInvocationsPerWorkgroup)
    throw new GpuError('limit', `the plan's kernels use ${need.maxComputeInvocationsPerWorkgroup} invocations per workgroup; this device allows ${l.maxComputeInvocationsPerWorkgroup}`);
}

