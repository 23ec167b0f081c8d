// rhc's f32 matmul rate on the adapter: chains of [n, n] @ [n, n] (bench/specs/matmul.rh) at
// depth d and at depth 1, each run reading the [n, n] result back; (t_d - t_1) / (d - 1) is
// one matmul with the upload, read-back and submit cancelled out. 2 n^3 flops each.

import * as path from 'node:path';
import { benchModel, compileGraphForRun, WebGpuModel, type GpuContext, type OptLevel } from './rhc-api.ts';
import { ROOT } from './models.ts';
import { measure, type Repeats, type Sample } from './stats.ts';

const SPEC = path.join(ROOT, 'bench/specs/matmul.rh');

export interface MatmulRate {
  n: number;
  depth: number;
  chain: Sample;
  single: Sample;
  /** per matmul, from the medians */
  ms: number;
  gflops: number;
}

async function chainSample(ctx: GpuContext, n: number, depth: number, level: OptLevel, r: Repeats): Promise<Sample> {
  const m = benchModel(SPEC, { n, depth }, 3);
  const model = await WebGpuModel.create(ctx, compileGraphForRun(m.graph, 'matmul', { M: n }, level), m.weights);
  try {
    const x = { data: new Float32Array(n * n).fill(0.5), shape: [n, n] };
    return await measure(() => model.run({ x }), r);
  } finally {
    model.destroy();
  }
}

export async function matmulRate(ctx: GpuContext, n: number, depth: number, level: OptLevel, r: Repeats): Promise<MatmulRate> {
  const chain = await chainSample(ctx, n, depth, level, r);
  const single = await chainSample(ctx, n, 1, level, r);
  const ms = Math.max((chain.median - single.median) / (depth - 1), 1e-6);
  return { n, depth, chain, single, ms, gflops: (2 * n ** 3) / (ms * 1e6) };
}

/** f32 (non-tensor-core) peaks of GPUs a device run may meet, GFLOP/s, by adapter text. */
export const KNOWN_PEAKS: readonly { match: RegExp; gflops: number; name: string }[] = [
  { match: /H200|H100.*(SXM|HBM3)/i, gflops: 66_900, name: 'H100/H200 SXM' },
  { match: /H100/i, gflops: 51_200, name: 'H100 PCIe' },
  { match: /A100/i, gflops: 19_500, name: 'A100' },
  { match: /L40S/i, gflops: 91_600, name: 'L40S' },
  { match: /RTX 4090/i, gflops: 82_600, name: 'RTX 4090' },
];

export function knownPeak(adapter: string): { gflops: number; name: string } | undefined {
  return KNOWN_PEAKS.find((p) => p.match.test(adapter));
}
