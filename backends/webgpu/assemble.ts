// Schedule -> plan: physical buffers, deduplicated kernel files (every layer's kernels are the
// same text, so a model has a dozen or so whatever its depth), dispatches with plan-level
// bindings, uniforms and grids as dim texts over the plan's symbols, and the constants blob.

import { DTYPES } from '../../src/ir/dtypes.ts';
import { type Dim, dimToString } from '../../src/ir/dims.ts';
import type { DraftGrid, DraftGridDim } from './kernel-writer.ts';
import { assignPhysical, planMemory } from './buffer-planner.ts';
import type { Schedule } from './schedule.ts';
import {
  bindingBytes, PLAN_FORMAT, PLAN_VERSION, UNIFORM_STRIDE,
  type DimText, type GridDim, type PlanBuffer, type PlanDecoding, type PlanDispatch, type PlanGrid, type PlanKernel, type WebGpuArtifact, type WebGpuPlan,
} from './plan.ts';
import { safeText } from './wgsl.ts';

export interface AssembleInfo {
  spec: string;
  model: string;
  config: Record<string, number | boolean | string>;
  bounds: ReadonlyMap<string, number>;
  maxBindingBytes: number;
  positionTables: WebGpuPlan['positionTables'];
  decoding?: Omit<PlanDecoding, 'caches' | 'batchSymbol' | 'seqSymbol' | 'pastSymbol'> & { batchSymbol: string; seqSymbol: string; pastSymbol: string };
}

/** Plan symbol names are plain identifiers whatever the IR calls them (the kv-cache pass may add P'). */
function planSymbols(symbols: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  symbols.forEach((s, i) => {
    let name = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(s) && !taken.has(s) ? s : `sym${i}`;
    while (taken.has(name)) name = `${name}_`;
    taken.add(name);
    names.set(s, name);
  });
  return names;
}

export function assemble(s: Schedule, info: AssembleInfo): WebGpuArtifact {
  const rename = planSymbols(s.symbols);
  const text = (d: Dim): DimText => {
    if (typeof d === 'number') return d;
    const terms = new Map([...d.terms].map(([m, c]) => [m === '' ? '' : m.split('*').map((x) => rename.get(x)!).sort().join('*'), c]));
    return dimToString({ terms });
  };
  const physical = assignPhysical(s.buffers, s.dispatches);
  const plans = new Map<number, PlanBuffer>();
  const chunks: Uint8Array[] = [];
  let constantBytes = 0;
  for (const [logical, p] of physical) {
    let b = plans.get(p.id);
    if (!b) {
      b = { id: p.id, role: p.role, dtype: logical.dtype, bytes: p.bytes, label: '' };
      plans.set(p.id, b);
    }
    b.bytes = p.bytes;
    if (p.holds.length === 1) {
      b.shape = logical.shape.map(text);
      b.label = safeText(logical.label);
      if (logical.chunking) b.chunking = logical.chunking;
      if (logical.checkpoint !== undefined) b.checkpoint = logical.checkpoint;
    } else b.label = safeText(`shared by ${p.holds.length} values: ${p.holds.map((h) => h.label.split(' ')[0]).join(' ')}`, 200);
    if (logical.constant && !b.constant) {
      const data = DTYPES[logical.constant.dtype].array.from(logical.constant.data);
      const padded = Math.ceil(data.byteLength / 16) * 16;
      b.constant = { byteOffset: constantBytes, byteLength: data.byteLength };
      const bytes = new Uint8Array(padded);
      bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      chunks.push(bytes);
      constantBytes += padded;
    }
  }
  const buffers = [...plans.values()].sort((a, b) => a.id - b.id);
  const cacheIndex = new Map(s.caches.map((c, i) => [c.buffer, i]));

  const kernels: PlanKernel[] = [];
  const sources: Record<string, string> = {};
  const byCode = new Map<string, number>();
  let largestBinding = 0;
  const dispatches: PlanDispatch[] = s.dispatches.map((d) => {
    let kernel = byCode.get(d.code);
    if (kernel === undefined) {
      kernel = kernels.length;
      const file = `k${String(kernel).padStart(3, '0')}_${d.op}.wgsl`;
      const [x, y, z] = d.workgroupSize;
      kernels.push({ name: `${d.op}_${kernel}`, file, entryPoint: 'main', storageBindings: d.bindings.length, workgroupSize: [x, y, z] });
      sources[file] = d.code;
      byCode.set(d.code, kernel);
    }
    const bindings = d.bindings.map(({ buffer, chunk }) => {
      const p = physical.get(buffer)!;
      const cache = cacheIndex.get(buffer);
      largestBinding = Math.max(largestBinding, bindingBytes({ dtype: buffer.dtype, bytes: p.bytes, chunking: buffer.chunking }));
      return { buffer: p.id, ...(chunk !== undefined ? { chunk } : {}), ...(cache !== undefined ? { kvCache: cache } : {}) };
    });
    return { kernel, label: safeText(d.label ?? d.op), bindings, uniforms: d.uniforms.map(text), grid: gridText(d.grid, text) };
  });

  let decoding: PlanDecoding | undefined;
  if (info.decoding && s.caches.length > 0) {
    decoding = {
      ...info.decoding,
      batchSymbol: rename.get(info.decoding.batchSymbol)!,
      seqSymbol: rename.get(info.decoding.seqSymbol)!,
      pastSymbol: rename.get(info.decoding.pastSymbol)!,
      ...(info.decoding.logitRowsSymbol ? { logitRowsSymbol: rename.get(info.decoding.logitRowsSymbol)! } : {}),
      caches: s.caches.map((c) => ({
        layer: c.layer,
        kind: c.kind,
        shape: c.shape.map(text),
        bytesPerBatchRow: (c.shape.slice(1) as number[]).reduce((a, d) => a * d, 4),
        forwardBuffer: physical.get(c.buffer)!.id,
      })),
    };
  }
  const plan: WebGpuPlan = {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    spec: info.spec,
    model: info.model,
    config: info.config,
    symbols: s.symbols.map((sym) => ({ name: rename.get(sym)!, max: info.bounds.get(sym) ?? 0, ...(rename.get(sym) !== sym ? { source: safeText(sym, 40) } : {}) })),
    maxBindingBytes: info.maxBindingBytes,
    requirements: {
      maxStorageBufferBindingSize: largestBinding,
      maxStorageBuffersPerShaderStage: Math.max(0, ...kernels.map((k) => k.storageBindings)),
      maxComputeInvocationsPerWorkgroup: Math.max(1, ...kernels.map((k) => k.workgroupSize[0] * k.workgroupSize[1] * k.workgroupSize[2])),
    },
    memory: planMemory(physical, decoding?.caches.map((c) => c.bytesPerBatchRow), (decoding && info.bounds.get(info.decoding!.batchSymbol)) ?? 1),
    uniformStride: UNIFORM_STRIDE,
    kernels,
    buffers,
    inputs: s.inputs.map((io) => ({ name: io.name, dtype: io.dtype, shape: io.shape.map(text), buffer: physical.get(io.buffer)!.id, ...(io.indexes ? { indexes: io.indexes } : {}) })),
    outputs: s.outputs.map((io) => ({ name: io.name, dtype: io.dtype, shape: io.shape.map(text), buffer: physical.get(io.buffer)!.id })),
    ...(decoding ? { decoding } : {}),
    prepare: s.prepare,
    positionTables: info.positionTables,
    dispatches,
  };
  const constants = constantBytes > 0 ? concat(chunks, constantBytes) : undefined;
  return { plan, kernels: sources, ...(constants ? { constants } : {}) };
}

function gridText(g: DraftGrid, text: (d: Dim) => DimText): PlanGrid {
  const dim = (d: DraftGridDim): GridDim => ({ ...d, count: text(d.count) });
  if ('linear' in g) return { linear: dim(g.linear) };
  return { x: dim(g.x), ...(g.y ? { y: dim(g.y) } : {}), ...(g.z ? { z: dim(g.z) } : {}) };
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
