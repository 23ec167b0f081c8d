// The WGSL backend's API: compileWebGpu runs the passes (plus the KV cache for models that
// decode), schedules kernels and assembles the plan. The result serves both full-sequence
// runs and incremental decoding with one program: P (the cached length) is 0 for a forward,
// whose per-layer caches are ordinary activations; a decoder binds its own caches instead.

import type { Graph } from '../../src/ir/graph.ts';
import { dimSymbols, type Dim } from '../../src/ir/dims.ts';
import { pipelineFor, runPipeline } from '../../src/passes/pipeline.ts';
import { lastRows } from '../../src/passes/last-position.ts';
import { DEFAULT_TABLE_BUDGET_BYTES, positionTables, type PositionTables } from '../../src/passes/position-tables.ts';
import { eliminateDeadCode } from '../../src/passes/dce.ts';
import { addKvCache } from '../../src/passes/kv-cache.ts';
import { DEFAULT_OPT_LEVEL, fuse, OPT_LEVELS, type OptLevel } from '../../src/passes/fuse.ts';
import { IDS_INPUT, LOGITS_OUTPUT, POSITIONS_INPUT } from '../../src/ir/calling-convention.ts';
import { scheduleGraph } from './schedule.ts';
import type { KernelChoices } from './lowering.ts';
import { assemble } from './assemble.ts';
import { DEFAULT_MAX_BINDING_BYTES, type WebGpuArtifact } from './plan.ts';

export * from './plan.ts';

export interface CompileWebGpuOptions {
  /** the spec the graph came from (recorded in the plan) */
  specName: string;
  /** the largest batch forward() accepts (default 1; decoding is always batch 1) */
  maxBatch?: number;
  /**
   * the most tokens one run takes (default n_positions): activations (the logits above all) are
   * sized for it; a decoder feeds longer prompts in pieces, its cache still holds n_positions
   */
  maxSeq?: number;
  /** split buffers above this many bytes per binding (default 128 MiB, what every device allows) */
  maxBindingBytes?: number;
  /** add the KV cache (default: when the graph has attention and `ids`/`pos` inputs) */
  decoding?: boolean;
  /** upper bounds of symbols other than batch, sequence and past (for graphs that are not models) */
  bounds?: Readonly<Record<string, number>>;
  /**
   * passes to run first, before `kv-cache` when decoding (default: the standard pipeline without
   * `tabulate-positions`; `PipelineVariant` in src/passes/pipeline.ts says why)
   */
  passes?: readonly string[];
  /** which of several correct kernels some ops use (lowering.ts: KernelChoices) */
  kernelChoices?: KernelChoices;
  /** -O level (default 2): 0 is one kernel per op, 1 and 2 fuse by the rules of that level; 2 also computes position tables at load */
  level?: OptLevel;
  /** the most bytes of position tables (default 64 MiB); past it cos/sin are computed per forward */
  tableBudgetBytes?: number;
  /**
   * the weights change between runs (a training step replaces them): nothing derived from them
   * may be computed once at load, so no position tables (cos/sin are computed per run)
   */
  weightsChange?: boolean;
}

function symbolOf(d: Dim | undefined): string | undefined {
  if (d === undefined || typeof d === 'number' || d.terms.size !== 1) return undefined;
  const [[name, c]] = [...d.terms];
  return c === 1 && name !== '' && !name.includes('*') ? name : undefined;
}

/** The graph compileWebGpu schedules, and what its passes decided. */
export interface WebGpuGraph {
  graph: Graph;
  decoding: boolean;
  level: OptLevel;
  /** position-tables' result at -O2 */
  tables?: PositionTables;
  /** the KV cache's cached-length symbol (kv-cache), and the logit rows' (last-rows) */
  pastSymbol?: string;
  rowsSymbol?: string;
}

/**
 * The passes of compileWebGpu, in order: the pipeline, position-tables (-O2), kv-cache and
 * last-rows for decoders, fuse (-O1, -O2). Exported so that tools reading a plan (the bench's
 * accounting) see the very graph its dispatch labels name.
 */
export function webgpuGraph(graph: Graph, opts: Pick<CompileWebGpuOptions, 'decoding' | 'level' | 'passes' | 'tableBudgetBytes' | 'weightsChange'>): WebGpuGraph {
  const ids = graph.nodes.find((n) => n.op === 'input' && n.attrs.name === IDS_INPUT);
  const hasPositions = graph.nodes.some((n) => n.op === 'input' && n.attrs.name === POSITIONS_INPUT);
  const decoding = opts.decoding ?? (ids !== undefined && hasPositions && graph.nodes.some((n) => n.op === 'attention'));
  const level = opts.level ?? DEFAULT_OPT_LEVEL;
  if (!OPT_LEVELS.includes(level)) throw new Error(`level must be one of ${OPT_LEVELS.join(', ')}, got ${level}`);
  const passes = opts.passes ?? pipelineFor({ tabulate: false, kvCache: false });
  // -O2: cos/sin as [n_positions, 2, H, D/2] tables the plan's prepare dispatches compute once
  // (over the budget, as [S, 2, H, D/2] once per forward).
  const base = runPipeline(graph, passes);
  const tables = level >= 2 && !opts.weightsChange ? positionTables(base, opts.tableBudgetBytes) : undefined;
  const tabled = tables && tables.graph !== base ? eliminateDeadCode(tables.graph) : base;
  const cached = decoding ? addKvCache(tabled) : tabled;
  const pastSymbol = cached.symbols.find((s) => !graph.symbols.includes(s));
  // A decoder wants the last position's logits, a forward every position's: ln_f and the lm_head
  // run on the last R positions, R bound per run (1 to decode, S for a forward), in one plan.
  const { graph: rows, symbol: rowsSymbol } = decoding ? lastRows(cached) : { graph: cached, symbol: undefined };
  // Fusion last, so every pass before it sees plain ops.
  const g = level > 0 ? fuse(rows, level) : rows;
  return { graph: g, decoding, level, ...(tables ? { tables } : {}), ...(pastSymbol ? { pastSymbol } : {}), ...(rowsSymbol ? { rowsSymbol } : {}) };
}

export function compileWebGpu(graph: Graph, opts: CompileWebGpuOptions): WebGpuArtifact {
  const ids = graph.nodes.find((n) => n.op === 'input' && n.attrs.name === IDS_INPUT);
  const { graph: g, decoding, level, tables, pastSymbol, rowsSymbol } = webgpuGraph(graph, opts);
  const capacity = graph.config.n_positions;
  const batchSymbol = symbolOf(ids?.type.shape[0]);
  const seqSymbol = symbolOf(ids?.type.shape[1]);
  const bounds = new Map<string, number>();
  const maxBatch = opts.maxBatch ?? 1;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
  if (batchSymbol) bounds.set(batchSymbol, maxBatch);
  if (typeof capacity === 'number') {
    const maxSeq = opts.maxSeq ?? capacity;
    if (!Number.isInteger(maxSeq) || maxSeq < 1 || maxSeq > capacity) throw new Error(`maxSeq must be an integer in [1, ${capacity}], got ${maxSeq}`);
    if (seqSymbol) bounds.set(seqSymbol, maxSeq);
    if (rowsSymbol) bounds.set(rowsSymbol, maxSeq);
    if (pastSymbol) bounds.set(pastSymbol, capacity);
  }
  for (const [name, max] of Object.entries(opts.bounds ?? {})) bounds.set(name, max);
  if (decoding && (typeof capacity !== 'number' || !batchSymbol || !seqSymbol || !pastSymbol))
    throw new Error(`WebGPU backend: decoding needs config.n_positions and an ids input [batch, seq] (graph ${graph.name})`);
  const maxBindingBytes = opts.maxBindingBytes ?? DEFAULT_MAX_BINDING_BYTES;
  // A buffer too large to index names what the user can lower: the flag or config behind each dim.
  const symbolLevers = new Map<string, string>();
  if (batchSymbol) symbolLevers.set(batchSymbol, `--max-batch (${maxBatch})`);
  for (const s of [seqSymbol, pastSymbol, rowsSymbol]) if (s && typeof capacity === 'number') symbolLevers.set(s, `n_positions (${capacity})`);
  const levers = (shape: readonly Dim[]): string[] => {
    const out = new Set<string>();
    for (const d of shape) {
      if (typeof d !== 'number') for (const s of dimSymbols(d)) out.add(symbolLevers.get(s) ?? `the bound of ${s} (${bounds.get(s)})`);
      else if (d > 1) for (const [k, v] of Object.entries(graph.config)) if (v === d) out.add(`${k} (${v})`);
    }
    return [...out];
  };
  const schedule = scheduleGraph(g, { bounds, maxBindingBytes, cacheCapacity: typeof capacity === 'number' ? capacity : 0, levers, kernelPerOp: level === 0, weightsChange: opts.weightsChange === true, ...(opts.kernelChoices ? { choices: opts.kernelChoices } : {}) });
  return assemble(schedule, {
    spec: opts.specName,
    model: graph.name,
    config: { ...graph.config },
    bounds,
    maxBindingBytes,
    positionTables: tables === undefined ? { at: 'forward', reason: opts.weightsChange ? 'the weights change between runs' : `-O${level}` } : tables.overBudget !== undefined ? { at: 'forward', reason: `${tables.overBudget} bytes of tables exceed the budget of ${opts.tableBudgetBytes ?? DEFAULT_TABLE_BUDGET_BYTES}` } : { at: 'load', bytes: tables.bytes, tables: tables.tables },
    ...(decoding
      ? { decoding: { idsInput: IDS_INPUT, positionsInput: POSITIONS_INPUT, logitsOutput: LOGITS_OUTPUT, batchSymbol: batchSymbol!, seqSymbol: seqSymbol!, pastSymbol: pastSymbol!, capacity: capacity as number, ...(rowsSymbol ? { logitRowsSymbol: rowsSymbol } : {}) } }
      : {}),
  });
}

