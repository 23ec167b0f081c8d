// Compute pipelines (compiled once per WGSL source + entry point) and running dispatches.
// Compiling is the slow part on SwiftShader (~1-2 s for a big kernel), hence the cache.

import { GpuContext, GpuError, fromGpuError } from './device.ts';

export interface Kernel {
  /** Used in error messages and labels. */
  name: string;
  code: string;
  entryPoint?: string; // default 'main'
}

export class PipelineCache {
  // Promises, so concurrent requests for one kernel share a single compilation.
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(readonly ctx: GpuContext) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(kernel: Kernel): Promise<GPUComputePipeline> {
    const entryPoint = kernel.entryPoint ?? 'main';
    const key = `${entryPoint}\n${kernel.code}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = compile(this.ctx, kernel.name, kernel.code, entryPoint);
      this.pipelines.set(key, pipeline);
      pipeline.catch(() => this.pipelines.delete(key)); // a failure is not cached
    }
    return pipeline;
  }
}

async function compile(ctx: GpuContext, name: string, code: string, entryPoint: string): Promise<GPUComputePipeline> {
  ctx.throwIfFailed();
  const { device } = ctx;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: name, code });
  const info = await module.getCompilationInfo();
  await device.popErrorScope(); // the same errors, reported better by getCompilationInfo below
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0) {
    const lines = code.split('\n');
    const text = errors.map((m) => {
      const source = m.lineNum > 0 ? `\n    ${lines[m.lineNum - 1]?.trim() ?? ''}` : '';
      return `  line ${m.lineNum}:${m.linePos}: ${m.message}${source}`;
    });
    throw new GpuError('compile', `WGSL kernel '${name}' does not compile:\n${text.join('\n')}`);
  }
  try {
    return await device.createComputePipelineAsync({ label: name, layout: 'auto', compute: { module, entryPoint } });
  } catch (e) {
    ctx.throwIfFailed();
    throw new GpuError('compile', `WGSL kernel '${name}' (entry point '${entryPoint}'): pipeline creation failed: ${(e as Error).message.trim()}`);
  }
}

/** A buffer bound whole, or a byte range of it. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface Dispatch {
  pipeline: GPUComputePipeline;
  /** Bindings of @group(0), in @binding order 0, 1, 2, ... */
  bindings: readonly Binding[];
  /** Workgroup counts: x, or [x, y, z]. */
  workgroups: number | readonly [number, number?, number?];
  /** For error messages; defaults to the pipeline's label (the kernel name). */
  label?: string;
}

/** Records dispatches into one compute pass of `encoder` (WebGPU orders storage writes between dispatches). */
export function encodeDispatches(ctx: GpuContext, encoder: GPUCommandEncoder, dispatches: readonly Dispatch[]): void {
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  const pass = encoder.beginComputePass();
  for (const d of dispatches) {
    const label = d.label ?? d.pipeline.label;
    const [x, y = 1, z = 1] = typeof d.workgroups === 'number' ? [d.workgroups] : d.workgroups;
    if (Math.max(x, y, z) > maxGroups) {
      throw new GpuError('limit', `kernel '${label}': ${x}x${y}x${z} workgroups exceed the limit of ${maxGroups} per dimension`);
    }
    const bindGroup = ctx.device.createBindGroup({
      label,
      layout: d.pipeline.getBindGroupLayout(0),
      entries: d.bindings.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
    });
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }
  pass.end();
}

/** Encodes, submits and waits for the dispatches; throws GpuError on any error they cause. */
export async function runDispatches(ctx: GpuContext, dispatches: readonly Dispatch[]): Promise<void> {
  ctx.throwIfFailed();
  const { device } = ctx;
  const labels = [...new Set(dispatches.map((d) => d.label ?? d.pipeline.label))].join(', ');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let thrown: unknown;
  try {
    const encoder = device.createCommandEncoder({ label: labels });
    encodeDispatches(ctx, encoder, dispatches);
    device.queue.submit([encoder.finish()]);
  } catch (e) {
    thrown = e;
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (thrown) throw thrown;
  const error = validation ?? oom;
  if (error) throw fromGpuError(error, `running kernel(s) ${labels}`);
  await device.queue.onSubmittedWorkDone();
  ctx.throwIfFailed();
}

/** One dispatch: see runDispatches. */
export function runDispatch(ctx: GpuContext, dispatch: Dispatch): Promise<void> {
  return runDispatches(ctx, [dispatch]);
}
