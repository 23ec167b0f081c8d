// Acquiring a WebGPU device, in Node (Dawn via npm `webgpu`) and in browsers (navigator.gpu).
// Everything after "we have a GPU object" is one code path; only obtaining it differs.
//
// Node on Linux without a GPU: Dawn needs a Vulkan driver. SwiftShader's Vulkan ICD ships in
// Debian's `chromium` package; Dawn also needs the Vulkan loader (`libvulkan1`). When
// VK_ICD_FILENAMES is unset and SwiftShader's ICD exists, we set VK_ICD_FILENAMES to it
// ourselves -- but only after the system's own Vulkan drivers (if any are installed) gave no
// adapter, so that a real GPU is never shadowed just because chromium is installed. The Vulkan
// loader reads the variable whenever Dawn creates an instance, so setting it in-process works.

/** Where SwiftShader's Vulkan ICD lives when Debian's chromium package is installed. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// GPUBufferUsage / GPUMapMode are globals in browsers but not in Node (npm `webgpu` exports
// them as `globals` without installing them). The values are fixed by the spec, so own them.
export const BufferUsage = {
  MAP_READ: 0x1,
  MAP_WRITE: 0x2,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;
export const MapMode = { READ: 0x1, WRITE: 0x2 } as const;

export type GpuErrorKind =
  | 'no-webgpu' // no WebGPU implementation at all
  | 'no-adapter' // WebGPU exists but found no adapter (Node: no usable Vulkan driver)
  | 'device-request' // requestDevice rejected
  | 'device-lost'
  | 'validation'
  | 'out-of-memory'
  | 'internal'
  | 'compile' // WGSL compilation or pipeline creation failed
  | 'limit'; // a request that exceeds the device's limits

/**
 * Every WebGPU failure rhc reports. The message is complete and meant for users as is:
 * the CLI prints `message` only (no stack trace) for this class.
 */
export class GpuError extends Error {
  constructor(
    readonly kind: GpuErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'GpuError';
  }
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface AcquireOptions {
  /** Use this GPU object instead of navigator.gpu / Dawn (tests, custom Dawn flags). */
  gpu?: GPU;
  /** Flags for Dawn's create() in Node, e.g. ['enable-dawn-features=dump_shaders']. */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
  /** Features requested only if the adapter has them. */
  optionalFeatures?: GPUFeatureName[];
  /** Node only: fall back to SwiftShader as described at the top of this file (default true). */
  swiftShaderFallback?: boolean;
  /** Called for every uncaptured error, in addition to it being raised at the next checkpoint. */
  onUncapturedError?: (error: GpuError) => void;
}

/** Limits we always request at the adapter's maximum: the spec's defaults are much lower. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage', // chunked tensors take one binding per chunk
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
] as const;

const DEFAULT_OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

export class GpuContext {
  /** Set once the device is lost (including by destroy()). */
  lostError: GpuError | undefined;
  private pendingErrors: GpuError[] = [];

  constructor(
    /** Kept referenced on purpose: if Dawn's create() object is collected, the process hangs or aborts. */
    readonly gpu: GPU,
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly info: AdapterSummary,
    onUncapturedError?: (error: GpuError) => void,
  ) {
    device.addEventListener('uncapturederror', (event) => {
      // preventDefault: Dawn (and browsers) would otherwise also print it; we report it ourselves.
      event.preventDefault();
      const error = fromGpuError(event.error, 'uncaptured WebGPU error');
      this.pendingErrors.push(error);
      onUncapturedError?.(error);
    });
    void device.lost.then((lost) => {
      // After destroy() lostError is already set; anything else is a real loss.
      this.lostError ??= new GpuError('device-lost', `WebGPU device lost (${lost.reason}): ${lost.message || 'no message'}`);
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  get features(): ReadonlySet<string> {
    return this.device.features as ReadonlySet<string>;
  }

  /** Throws if the device was lost or an uncaptured error happened since the last check. */
  throwIfFailed(): void {
    if (this.lostError) throw this.lostError;
    const error = this.pendingErrors.shift();
    if (error) {
      this.pendingErrors = [];
      throw error;
    }
  }

  /** One line for logs: adapter and the limits that matter to rhc. */
  describe(): string {
    const { vendor, architecture, device, description, isFallbackAdapter } = this.info;
    const l = this.limits;
    const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
    return (
      `${description || device || 'WebGPU adapter'} (${vendor || '?'}/${architecture || '?'}` +
      `${isFallbackAdapter ? ', software fallback' : ''}); ` +
      `storage binding ${mib(l.maxStorageBufferBindingSize)}, buffer ${mib(l.maxBufferSize)}, ` +
      `workgroup ${l.maxComputeInvocationsPerWorkgroup} invocations / ${l.maxComputeWorkgroupStorageSize} B shared`
    );
  }

  destroy(): void {
    this.lostError ??= new GpuError('device-lost', 'the WebGPU device was destroyed and cannot be used any more');
    this.device.destroy();
  }
}

/** Wraps a GPUError (validation / out-of-memory / internal) in a GpuError with context. */
export function fromGpuError(error: GPUError, context: string): GpuError {
  // No instanceof: the GPU*Error classes are not globals in Node.
  const kind: GpuErrorKind = /OutOfMemory/.test(error.constructor.name)
    ? 'out-of-memory'
    : /Internal/.test(error.constructor.name)
      ? 'internal'
      : 'validation';
  return new GpuError(kind, `${context}: ${error.message.trim()}`);
}

export async function acquireDevice(options: AcquireOptions = {}): Promise<GpuContext> {
  const { gpu, adapter } = await findAdapter(options);
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const wanted = options.optionalFeatures ?? DEFAULT_OPTIONAL_FEATURES;
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: 'rhc', requiredLimits, requiredFeatures });
  } catch (e) {
    throw new GpuError('device-request', `could not create a WebGPU device: ${(e as Error).message}`);
  }
  const i = adapter.info;
  const info: AdapterSummary = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    // Older implementations only had GPUAdapter.isFallbackAdapter.
    isFallbackAdapter: Boolean((i as { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
  return new GpuContext(gpu, adapter, device, info, options.onUncapturedError);
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

// GPU objects whose adapter request failed: kept alive so Dawn never sees them collected.
const retiredGpus: GPU[] = [];

async function findAdapter(options: AcquireOptions): Promise<{ gpu: GPU; adapter: GPUAdapter }> {
  const request: GPURequestAdapterOptions = { powerPreference: options.powerPreference };
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (options.gpu || browserGpu || !isNode) {
    const gpu = options.gpu ?? browserGpu;
    if (!gpu) {
      throw new GpuError('no-webgpu', 'this browser has no WebGPU (navigator.gpu is missing); use a recent Chrome, Edge or Safari, or Firefox with WebGPU enabled');
    }
    const adapter = await gpu.requestAdapter(request);
    if (!adapter) throw new GpuError('no-adapter', isNode ? nodeNoAdapterMessage() : 'WebGPU is available but no adapter was found (is hardware acceleration disabled?)');
    return { gpu, adapter };
  }

  // getBuiltinModule rather than import(): no bundler tries to resolve 'node:fs' for browsers.
  const fs = process.getBuiltinModule('node:fs');
  const swiftShader =
    (options.swiftShaderFallback ?? true) && !process.env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD);
  // Without any system Vulkan driver, trying one first would only print loader warnings.
  if (!swiftShader || hasSystemVulkanDriver(fs)) {
    const gpu = await createDawnGpu(options.dawnFlags ?? []);
    const adapter = await gpu.requestAdapter(request);
    if (adapter) return { gpu, adapter };
    retiredGpus.push(gpu);
  }
  if (swiftShader) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences a warning from the Vulkan loader
    const gpu = await createDawnGpu(options.dawnFlags ?? []);
    const adapter = await gpu.requestAdapter(request);
    if (adapter) return { gpu, adapter };
    retiredGpus.push(gpu);
  }
  throw new GpuError('no-adapter', nodeNoAdapterMessage());
}

/** Whether a Vulkan driver manifest is installed where the Linux Vulkan loader looks for one. */
function hasSystemVulkanDriver(fs: typeof import('node:fs')): boolean {
  const dataDirs = (process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const home = process.env.HOME ? [`${process.env.HOME}/.local/share`] : [];
  const dirs = ['/etc', ...dataDirs, ...home].map((d) => `${d}/vulkan/icd.d`);
  return dirs.some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => f.endsWith('.json')));
}

async function createDawnGpu(flags: string[]): Promise<GPU> {
  // A variable specifier keeps browser bundlers from trying to resolve the Node-only package.
  const specifier = 'webgpu';
  let mod: { create(flags: string[]): GPU };
  try {
    mod = await import(/* @vite-ignore */ specifier);
  } catch (e) {
    throw new GpuError('no-webgpu', `could not load the npm package 'webgpu' (Dawn for Node): ${(e as Error).message}`);
  }
  return mod.create(flags);
}

function nodeNoAdapterMessage(): string {
  const icd = process.env.VK_ICD_FILENAMES;
  return [
    'no WebGPU adapter found. In Node, WebGPU (Dawn) needs a Vulkan driver and the Vulkan loader.',
    icd ? `VK_ICD_FILENAMES is set to '${icd}'; check that this file exists and its driver loads.` : 'VK_ICD_FILENAMES is not set.',
    'Without a GPU, use SwiftShader (a CPU Vulkan driver shipped with Debian\'s chromium package):',
    '  apt-get install -y chromium libvulkan1',
    `  export VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`,
    '(rhc sets VK_ICD_FILENAMES to that file by itself when it is unset and the file exists.)',
  ].join('\n');
}

/**
 * Creates buffers inside out-of-memory and validation error scopes, so a failure is an error
 * that names what was being allocated (`what`) instead of a lost device later. All or nothing:
 * on failure every buffer made so far is destroyed.
 */
export async function createBuffersChecked(ctx: GpuContext, descriptors: readonly GPUBufferDescriptor[], what: string): Promise<GPUBuffer[]> {
  const { device } = ctx;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const buffers: GPUBuffer[] = [];
  let thrown: unknown;
  try {
    for (const d of descriptors) buffers.push(device.createBuffer(d));
  } catch (e) {
    thrown = e;
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (!thrown && !validation && !oom) return buffers;
  for (const b of buffers) b.destroy();
  const reason = oom ? 'out of GPU memory' : (validation?.message.trim() ?? String((thrown as Error).message));
  throw new GpuError(oom ? 'out-of-memory' : 'validation', `could not allocate ${what}: ${reason}`);
}
