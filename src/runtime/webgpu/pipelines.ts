// Compute pipelines, compiled once per WGSL source + entry point and shared by every model on
// a device (PlanProgram runs them). Compiling is the slow part on SwiftShader (~1-2 s for a big
// kernel), hence the cache.

import { GpuContext, GpuError } from './device.ts';

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
