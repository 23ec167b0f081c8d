// These tests run on a real WebGPU adapter (SwiftShader in CI). A missing adapter fails them:
// acquireDevice throws in beforeAll, by design (never skipped, see .ci/run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileWebGpu } from '../../../backends/webgpu/index.ts';
import { GpuContext, GpuError, acquireDevice } from '../../../src/runtime/webgpu/device.ts';
import { WebGpuModel } from '../../../src/runtime/webgpu/model.ts';
import { PipelineCache } from '../../../src/runtime/webgpu/pipelines.ts';
import { buildGraph, N } from '../../backends/webgpu/helpers.ts';

const SAXPY = {
  name: 'saxpy',
  code: /* wgsl */ `
struct Params { a: f32, b: f32, n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i < p.n) { y[i] = p.a * x[i] + p.b; }
}`,
};

let ctx: GpuContext;
let cache: PipelineCache;

beforeAll(async () => {
  ctx = await acquireDevice();
  cache = new PipelineCache(ctx);
  console.log(`WebGPU: ${ctx.describe()}`);
});
afterAll(() => ctx?.destroy());

describe('acquireDevice', () => {
  it('reports the adapter and requests its own limits, not the defaults', () => {
    expect(ctx.info.description || ctx.info.device).not.toBe('');
    for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeInvocationsPerWorkgroup'] as const) {
      expect(ctx.limits[name]).toBe(ctx.adapter.limits[name]);
    }
    // The spec's defaults; every adapter rhc can use offers at least these.
    expect(ctx.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(ctx.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  });

  it('explains a missing adapter (Vulkan driver, SwiftShader)', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    const err = await acquireDevice({ gpu: noAdapter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('no-adapter');
    expect((err as GpuError).message).toMatch(/Vulkan/);
    expect((err as GpuError).message).toMatch(/VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/);
  });
});

describe('kernels', () => {
  it('computes y = a*x + b over 1000 elements like plain JS', async () => {
    const n = 1000;
    const a = 1.75;
    const b = -0.3;
    const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 10);
    // compiled and run as every model is: a plan, its buffers and uniforms, one compute pass
    const g = buildGraph(['N'], (gb, input) => {
      const ax = gb.add('mul', [input('x', 'f32', [N]), gb.add('const', [], { dtype: 'f32', value: a })]);
      return { y: gb.add('add', [ax, gb.add('const', [], { dtype: 'f32', value: b })]) };
    });
    const model = await WebGpuModel.create(ctx, compileWebGpu(g, { specName: 'saxpy', decoding: false, passes: [], bounds: { N: n } }), new Map());
    try {
      const got = (await model.run({ x: { data: xs, shape: [n] } })).get('y')!;
      expect(got.length).toBe(n);
      for (let i = 0; i < n; i++) {
        const want = Math.fround(a) * xs[i] + Math.fround(b);
        // The GPU may fuse a*x+b into one FMA, so allow an f32 rounding or two.
        expect(Math.abs(got[i] - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      }
    } finally {
      model.destroy();
    }
  });

  it('compiles each kernel once', async () => {
    const first = await cache.get(SAXPY);
    const second = await cache.get({ ...SAXPY, name: 'saxpy again' });
    expect(second).toBe(first);
  });

  it('reports WGSL errors with the kernel name and line', async () => {
    const broken = { name: 'broken_kernel', code: SAXPY.code.replace('p.a * x[i]', 'p.a * undefined_thing') };
    const err = await cache.get(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('compile');
    expect((err as GpuError).message).toMatch(/broken_kernel/);
    expect((err as GpuError).message).toMatch(/line 10:\d+/);
    expect((err as GpuError).message).toMatch(/undefined_thing/);
  });

  it('rejects more workgroups than the device allows', async () => {
    // a batched matmul runs one workgroup per batch along z: one batch too many for the device
    const tooMany = ctx.limits.maxComputeWorkgroupsPerDimension + 1;
    const g = buildGraph(['N'], (gb, input) => ({ z: gb.add('matmul', [input('x', 'f32', [N, 1, 1]), input('y', 'f32', [N, 1, 1])]) }));
    const model = await WebGpuModel.create(ctx, compileWebGpu(g, { specName: 'batched', decoding: false, passes: [], bounds: { N: tooMany } }), new Map());
    try {
      const feed = { data: new Float32Array(tooMany), shape: [tooMany, 1, 1] };
      const err = await model.run({ x: feed, y: feed }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GpuError);
      expect((err as GpuError).kind).toBe('limit');
      expect((err as GpuError).message).toMatch(new RegExp(`matmul: 1x1x${tooMany} workgroups exceed maxComputeWorkgroupsPerDimension \\(${tooMany - 1}\\)`));
      expect(() => ctx.throwIfFailed()).not.toThrow(); // refused before anything was submitted
    } finally {
      model.destroy();
    }
  });
});

describe('errors outside error scopes', () => {
  it('surfaces uncaptured errors at the next checkpoint', async () => {
    ctx.device.createBuffer({ label: 'bad', size: 4, usage: 0 }); // invalid: no usage
    await ctx.device.queue.onSubmittedWorkDone();
    expect(() => ctx.throwIfFailed()).toThrow(GpuError);
    expect(() => ctx.throwIfFailed()).not.toThrow(); // reported once
  });
});
