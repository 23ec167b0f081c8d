// The passes, by name, and the order backends run them in. Every pass is a pure function
// Graph -> Graph; `pipelineStages` returns each intermediate graph so `rhc ir --after PASS`
// can print any stage.

import type { Graph } from '../ir/graph.ts';
import { eliminateDeadCode } from './dce.ts';
import { eliminateCommonSubexpressions } from './cse.ts';
import { foldConstants } from './fold-constants.ts';
import { tabulatePositions } from './tabulate-positions.ts';
import { addKvCache } from './kv-cache.ts';
import { lastPosition, lastRows } from './last-position.ts';
import { DEFAULT_OPT_LEVEL, fuse, type OptLevel } from './fuse.ts';
import { positionTables } from './position-tables.ts';

/** What a pass may depend on besides the graph. */
export interface PassContext {
  /** -O0 .. -O2: which fusion rules apply (fusion-rules.ts) */
  readonly level: OptLevel;
}

export interface Pass {
  readonly name: string;
  readonly summary: string;
  run(g: Graph, ctx: PassContext): Graph;
}

const DEFAULT_CONTEXT: PassContext = { level: DEFAULT_OPT_LEVEL };

export const PASSES = [
  { name: 'cse', summary: 'merge pure nodes with equal inputs and attributes', run: eliminateCommonSubexpressions },
  { name: 'fold-constants', summary: 'evaluate pure nodes whose inputs are all constants', run: foldConstants },
  { name: 'tabulate-positions', summary: 'replace functions of pos alone by gather(table, pos)', run: tabulatePositions },
  { name: 'dce', summary: 'drop nodes no output depends on', run: eliminateDeadCode },
  { name: 'kv-cache', summary: 'add past_key_values inputs and present outputs for incremental decoding', run: addKvCache },
  { name: 'last-position', summary: 'compute logits for the last position only (ln_f and the lm_head on B rows)', run: lastPosition },
  { name: 'last-rows', summary: 'compute logits for the last R positions, R a new symbol (1 to decode, S for a forward)', run: (g) => lastRows(g).graph },
  { name: 'position-tables', summary: 'replace functions of pos and fixed values (frequencies, parameters) by gather([n_positions, ...] table built from an iota, pos)', run: (g) => positionTables(g).graph },
  { name: 'fuse', summary: 'group ops into fused regions by the rules of the -O level (src/passes/fusion-rules.ts)', run: (g, ctx) => fuse(g, ctx.level) },
] as const satisfies readonly Pass[];

export type PassName = (typeof PASSES)[number]['name'];

/**
 * The standard pipeline: CSE first so the 2·n_layer copies of the rope frequencies are folded
 * once, folding, CSE again to merge what folding made equal, tabulation, and a final sweep.
 * Backends pick their variant with `pipelineFor`.
 */
export const PIPELINE: readonly PassName[] = ['cse', 'fold-constants', 'cse', 'tabulate-positions', 'dce'];

/** The standard pipeline as `rhc ir` shows it: `PIPELINE`, then fusion at the -O level. */
export const IR_PIPELINE: readonly PassName[] = [...PIPELINE, 'fuse'];

export interface PipelineVariant {
  /**
   * Run `tabulate-positions`. ONNX does: there the gather replaces several standard ops. WebGPU
   * does not: its fused kernels compute cos/sin where q and k are read, from the folded
   * [H, D/2] frequency table, so a [n_positions, H, D/2] table would add 4 MiB to every GP/RoPE
   * artifact (and a memory read per element) for no gain. The reference decoder, the oracle
   * for the GPU decoders, runs the WebGPU variant.
   */
  tabulate: boolean;
  /** Append `kv-cache`: decoders, and ONNX exports `--with-past`. */
  kvCache: boolean;
  /**
   * Append `last-position`: decoders, which want the next token's logits only, so ln_f and the
   * lm_head run on one row per sequence. (The WebGPU plan, which also serves forward(), runs
   * `last-rows` instead: src/passes/last-position.ts.)
   */
  lastPosition?: boolean;
  /** Append `fuse`, last, so every other pass sees plain ops (default: false). */
  fuse?: boolean;
}

/** The passes a backend runs, in order: `PIPELINE` as `variant` says. */
export function pipelineFor(variant: PipelineVariant): PassName[] {
  const passes = variant.tabulate ? [...PIPELINE] : PIPELINE.filter((p) => p !== 'tabulate-positions');
  return [
    ...passes,
    ...(variant.kvCache ? (['kv-cache'] as const) : []),
    ...(variant.lastPosition ? (['last-position'] as const) : []),
    ...(variant.fuse ? (['fuse'] as const) : []),
  ];
}

export function getPass(name: string): Pass {
  const p = PASSES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown pass '${name}' (passes: ${PASSES.map((x) => x.name).join(', ')})`);
  return p;
}

/** Every stage: the input graph, then the graph after each named pass in turn. */
export function pipelineStages(g: Graph, names: readonly string[] = PIPELINE, ctx: PassContext = DEFAULT_CONTEXT): { pass: string; graph: Graph }[] {
  const stages = [{ pass: 'input', graph: g }];
  for (const name of names) stages.push({ pass: name, graph: getPass(name).run(stages[stages.length - 1].graph, ctx) });
  return stages;
}

/** Runs the named passes in turn, or the pipeline `variant` names. */
export function runPipeline(g: Graph, passes: readonly string[] | PipelineVariant = PIPELINE, ctx: PassContext = DEFAULT_CONTEXT): Graph {
  const names = 'tabulate' in passes ? pipelineFor(passes) : passes;
  return names.reduce((acc, name) => getPass(name).run(acc, ctx), g);
}
