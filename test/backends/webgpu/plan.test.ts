// The compiler side, without a GPU: the plan's format, kernel deduplication and fusion, memory
// planning, splitting for GPT-2 medium's sizes, and names from a spec that cannot reach WGSL.

import { describe, expect, it } from 'vitest';
import { checkPlan, compileWebGpu, PLAN_VERSION, type PlanDispatch, type WebGpuArtifact } from '../../../backends/webgpu/index.ts';
import { GraphBuilder } from '../../../src/ir/graph.ts';
import { parseDim, sym } from '../../../src/ir/dims.ts';
import { compileSpec, SMALL } from '../../passes/fixtures.ts';

const kernelOf = (a: WebGpuArtifact, label: RegExp) => {
  const d = a.plan.dispatches.find((x) => label.test(x.label))!;
  return a.kernels[a.plan.kernels[d.kernel].file];
};

describe('plan', () => {
  const artifact = compileWebGpu(compileSpec('lr-norm'), { specName: 'lr-norm', maxBatch: 2 });
  const { plan } = artifact;

  it('is versioned JSON whose sizes are dim texts over its own symbols', () => {
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(checkPlan(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
    expect(() => checkPlan({ ...plan, version: PLAN_VERSION + 1 })).toThrow(`version ${PLAN_VERSION + 1} is not supported`);
    expect(() => checkPlan({ format: 'other' })).toThrow(/not an rhc WebGPU plan/);
    expect(plan.symbols).toEqual([{ name: 'B', max: 2 }, { name: 'S', max: SMALL.n_positions }, { name: 'P', max: SMALL.n_positions }, { name: 'R', max: SMALL.n_positions }]);
    const texts = plan.dispatches.flatMap((d) => [...d.uniforms, ...Object.values('linear' in d.grid ? { l: d.grid.linear } : d.grid).map((g) => g!.count)]);
    for (const t of texts) if (typeof t === 'string') expect(() => parseDim(t)).not.toThrow();
    expect(plan.decoding).toMatchObject({ idsInput: 'ids', positionsInput: 'pos', logitsOutput: 'logits', batchSymbol: 'B', seqSymbol: 'S', pastSymbol: 'P', capacity: SMALL.n_positions });
    expect(plan.decoding!.caches).toHaveLength(2 * SMALL.n_layer);
    expect(plan.inputs.find((i) => i.name === 'ids')!.indexes).toEqual({ rows: SMALL.vocab_size, table: 'transformer.wte.weight' });
    // every checkpoint tensor fills exactly one buffer
    const weights = plan.buffers.filter((b) => b.role === 'weight').map((b) => b.checkpoint);
    expect(new Set(weights).size).toBe(weights.length);
    expect(weights).toContain('transformer.h.1.attn.rope.frequencies');
  });

  it('runs ln_f and the lm_head on the last R positions (a decoder binds R = 1): B*R rows, not B*S', () => {
    expect(plan.decoding!.logitRowsSymbol).toBe('R');
    expect(plan.outputs.find((o) => o.name === 'logits')!.shape).toEqual(['B', 'R', SMALL.vocab_size]);
    const rowsOf = (label: RegExp) => {
      const tail = plan.dispatches.filter((d) => label.test(d.label)).at(-1)!;
      return 'linear' in tail.grid ? tail.grid.linear.count : tail.grid.y!.count;
    };
    expect(rowsOf(/ matmul/)).toBe('B*R'); // the lm_head: the last matmul
    expect(rowsOf(/ layer_norm/)).toBe('B*R'); // ln_f
    // Every other row count is over the whole sequence.
    const counts = plan.dispatches.slice(0, -2).flatMap((d) => Object.values('linear' in d.grid ? { l: d.grid.linear } : d.grid).map((g) => String(g!.count)));
    expect(counts.some((c) => c.includes('R'))).toBe(false);
    // A graph that does not decode keeps its logits whole.
    const forwardOnly = compileWebGpu(compileSpec('lr-norm'), { specName: 'lr-norm', decoding: false });
    expect(forwardOnly.plan.outputs.find((o) => o.name === 'logits')!.shape).toEqual(['B', 'S', SMALL.vocab_size]);
  });

  it('has one kernel file per distinct kernel: deeper models add dispatches, not kernels', () => {
    const deep = compileWebGpu(compileSpec('lr-norm', { ...SMALL, n_layer: 4 }), { specName: 'lr-norm', maxBatch: 2 });
    expect(deep.plan.kernels.length).toBe(plan.kernels.length);
    expect(deep.plan.dispatches.length).toBeGreaterThan(plan.dispatches.length);
    expect(Object.keys(artifact.kernels)).toEqual(plan.kernels.map((k) => k.file));
    for (const k of plan.kernels) expect(k.file).toMatch(/^k\d{3}_[a-z_]+\.wgsl$/);
  });

  it('fuses by the -O level: at -O2 a GPT-2 layer runs 5 kernels, ln_1 and ln_2 in the matmuls, q/k rotated and k/v appended in c_attn; -O1 keeps epilogues only; -O0 is one kernel per op', () => {
    const abs = (level: 0 | 1 | 2) => compileWebGpu(compileSpec('gpt2-abs'), { specName: 'gpt2-abs', level });
    // embedding; per layer ln_1 + c_attn (q, k, v head-major, k and v into the cache), attention,
    // c_proj, ln_2 + c_fc, mlp c_proj; ln_f; lm_head. Attention is two dispatches in the plan
    // (a kernel per query, or one split over the context): a run dispatches one of them.
    const o2 = abs(2);
    expect(o2.plan.dispatches.length).toBe(3 + 6 * SMALL.n_layer);
    expect(o2.plan.dispatches.filter((d) => / layer_norm/.test(d.label))).toHaveLength(1); // ln_f: its A is strided (last rows)
    expect(o2.plan.dispatches.map((d) => d.label).join('\n')).not.toMatch(/ (transpose|reshape|slice|rope|cache_append) /);
    const cAttn = kernelOf(o2, /fused qkv-heads/);
    expect(cAttn).toMatch(/fn qkv_store/);
    expect(kernelOf(o2, /fused matmul-epilogue/)).toMatch(/fn epilogue/);
    // -O1: the two cache appends are kernels again, q/k/v are read through views
    expect(abs(1).plan.dispatches.length).toBe(3 + 10 * SMALL.n_layer);
    expect(kernelOf(abs(1), /present\.0\.key/)).toMatch(/append to a KV cache/);
    // -O0: bias adds, the residual adds and GELU's ops each a kernel: more dispatches than -O1
    expect(abs(0).plan.dispatches.length).toBeGreaterThan(3 + 20 * SMALL.n_layer);
    // With RoPE, the rotation is in c_attn's store, not in attention's loads.
    const cAttnRope = kernelOf(artifact, /fused qkv-heads/);
    expect(cAttnRope).toMatch(/select\(.* \* .* \+ .* \* .*, .*\)/);
    expect(kernelOf(artifact, /attention/)).not.toMatch(/select\(.* \* .* \+ .* \* .*, .*\)/);
  });

  it('computes cos/sin tables once, in the prepare dispatches: no run dispatch does trigonometry; over the budget they stay per forward', () => {
    for (const spec of ['gp', 'lr-norm'] as const) {
      const a = compileWebGpu(compileSpec(spec), { specName: spec });
      const half = SMALL.n_embd / SMALL.n_head / 2;
      const tables = spec === 'gp' ? 1 : SMALL.n_layer; // cos and sin in one table; fixed frequencies: one for all layers
      expect(a.plan.positionTables).toEqual({ at: 'load', bytes: 2 * tables * SMALL.n_positions * SMALL.n_head * half * 4, tables });
      // c_attn's kernel binds the table once (cos and sin), within the 8 storage buffers of every device
      expect(a.plan.requirements.maxStorageBuffersPerShaderStage).toBeLessThanOrEqual(8);
      expect(a.plan.prepare).toBeGreaterThanOrEqual(1);
      const trig = (i: number) => /rh_(sin|cos)\(/.test(a.kernels[a.plan.kernels[a.plan.dispatches[i].kernel].file]);
      const prepare = a.plan.dispatches.slice(0, a.plan.prepare).map((_, i) => i);
      const run = a.plan.dispatches.map((_, i) => i).slice(a.plan.prepare);
      expect(prepare.some(trig)).toBe(true);
      expect(run.some(trig)).toBe(false);
      expect(a.plan.buffers.filter((b) => b.role === 'table').reduce((n, b) => n + b.bytes, 0)).toBe(a.plan.memory.tables);
      expect(a.plan.memory.tables).toBeGreaterThanOrEqual(a.plan.positionTables.at === 'load' ? a.plan.positionTables.bytes : 0);
    }
    const small = compileWebGpu(compileSpec('gp'), { specName: 'gp', tableBudgetBytes: 1024 });
    expect(small.plan.positionTables).toEqual({ at: 'forward', reason: `${2 * SMALL.n_positions * SMALL.n_embd * 2} bytes of tables exceed the budget of 1024` });
    // per forward, cos and sin [S, 2, H, D/2] once, in a kernel of their own; c_attn reads them
    const trigIn = (d: PlanDispatch) => /rh_(sin|cos)\(/.test(small.kernels[small.plan.kernels[d.kernel].file]);
    const run = small.plan.dispatches.slice(small.plan.prepare);
    expect(run.filter(trigIn).map((d) => d.label)).toEqual([expect.stringMatching(/concat cos and sin/)]);
    expect(run.find((d) => /qkv-heads/.test(d.label))).toBeDefined();
    expect(compileWebGpu(compileSpec('gp'), { specName: 'gp', level: 1 }).plan.positionTables).toEqual({ at: 'forward', reason: '-O1' });
  });

  it('reuses activation buffers whose lifetimes do not overlap', () => {
    const deep = compileWebGpu(compileSpec('lr-norm', { ...SMALL, n_layer: 4 }), { specName: 'lr-norm', maxBatch: 2 });
    const activations = (a: WebGpuArtifact) => a.plan.buffers.filter((b) => b.role === 'activation').length;
    expect(activations(deep)).toBe(activations(artifact));
    expect(activations(artifact)).toBeLessThanOrEqual(9); // attention's partials among them
  });

  it('splits GPT-2 medium under the 128 MiB default: wte and the logits in two chunks, the same kernels', () => {
    const medium = compileWebGpu(compileSpec('gp', { n_embd: 1024, n_head: 16, n_layer: 24, vocab_size: 50257, n_positions: 1024 }), { specName: 'gp' });
    const wte = medium.plan.buffers.find((b) => b.checkpoint === 'transformer.wte.weight')!;
    expect(wte.chunking).toEqual({ rows: 50257, rowElements: 1024, rowsPerChunk: 32768, chunks: 2 });
    const logits = medium.plan.buffers.find((b) => b.id === medium.plan.outputs[0].buffer)!;
    expect(logits.chunking!.chunks).toBe(2);
    expect(medium.plan.requirements.maxStorageBufferBindingSize).toBeLessThanOrEqual(128 * 2 ** 20);
    expect(medium.plan.requirements.maxStorageBuffersPerShaderStage).toBeLessThanOrEqual(8);
    expect(medium.plan.kernels.length).toBeLessThanOrEqual(16);
    // the folded [H, D/2] GP frequencies; cos/sin are computed in the kernels (no tabulate-positions)
    expect(medium.constants!.byteLength).toBe(16 * 32 * 4);
    // GPT-2 medium's 354,823,168 parameters (Hugging Face's count) in f32; a decoder's keys and values for 24 layers x 1024 positions x 1024
    expect(medium.plan.memory.weights).toBe(354_823_168 * 4);
    expect(medium.plan.memory.kvCache).toEqual({ perBatchRow: 2 * 24 * 1024 * 1024 * 4, atMaxBatch: 2 * 24 * 1024 * 1024 * 4, maxBatch: 1 });
    expect(medium.plan.memory.activations.planned).toBeLessThan(medium.plan.memory.activations.withoutReuse / 4);
  });
});

describe('names from a spec', () => {
  it('never reach WGSL; the plan carries them JSON-escaped (checkpoint names exact, labels sanitised)', () => {
    const evil = 'w */ } @compute @workgroup_size(1) fn evil() {} //\n@group(0) @binding(9) var<storage> x: array<f32>;';
    const b = new GraphBuilder();
    const x = b.add('input', [], { name: 'x;\n}fn evil2', dtype: 'f32', shape: [sym("S'"), 4] }, 'evil3\n');
    const w = b.add('param', [], { name: evil, dtype: 'f32', shape: [4, 4], init: { kind: 'zeros' } }, evil);
    const y = b.add('exp', [b.add('matmul', [x, w], {}, `hint ${evil}`)], {}, evil);
    const g = b.finish('model\n@compute', ["S'"], [{ name: 'out\n}', id: y }], {});
    const a = compileWebGpu(g, { specName: 'spec\n', bounds: { "S'": 8 }, passes: [] });
    for (const code of Object.values(a.kernels)) {
      for (const bad of ['evil', "S'", 'hint', 'x;', 'model', 'spec', 'out']) expect(code).not.toContain(bad);
      expect(code.match(/@compute/g)).toHaveLength(1);
    }
    const json = JSON.stringify(a.plan);
    expect(JSON.parse(json).buffers.find((p: { role: string }) => p.role === 'weight').checkpoint).toBe(evil);
    for (const p of [...a.plan.buffers, ...a.plan.dispatches]) expect(p.label).toMatch(/^[A-Za-z0-9_.,:;=+\-*/%()[\]<>'@^ ?]*$/);
    expect(a.plan.symbols[0].name).toMatch(/^[A-Za-z_]\w*$/);
    expect(a.plan.symbols[0].source).toBe("S'");
  });
});
