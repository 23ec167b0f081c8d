// The passes, by name, and the order backends run them in. Every pass is a pure function
// Graph -> Graph; `pipelineStages` returns each intermediate graph so `rhc ir --after PASS`
// can print any stage.

import type { Graph } from '../ir/graph.ts';
import { eliminateDeadCode } from './dce.ts';
import { eliminateCommonSubexpressions } from './cse.ts';
import { foldConstants } from './fold-constants.ts';
import { tabulatePositions } from './tabulate-positions.ts';
import { addKvCache } from './kv-cache.ts';

export interface Pass {
  readonly name: string;
  readonly summary: string;
  run(g: Graph): Graph;
}

export const PASSES = [
  { name: 'cse', summary: 'merge pure nodes with equal inputs and attributes', run: eliminateCommonSubexpressions },
  { name: 'fold-constants', summary: 'evaluate pure nodes whose inputs are all constants', run: foldConstants },
  { name: 'tabulate-positions', summary: 'replace functions of pos alone by gather(table, pos)', run: tabulatePositions },
  { name: 'dce', summary: 'drop nodes no output depends on', run: eliminateDeadCode },
  { name: 'kv-cache', summary: 'add past_key_values inputs and present outputs for incremental decoding', run: addKvCache },
] as const satisfies readonly Pass[];

export type PassName = (typeof PASSES)[number]['name'];

/**
 * What every backend runs: CSE first so the 2·n_layer copies of the rope frequencies are folded
 * once, folding, CSE again to merge what folding made equal, tabulation, and a final sweep.
 * `kv-cache` is opt-in (exports `--with-past` append it).
 */
export const PIPELINE: readonly PassName[] = ['cse', 'fold-constants', 'cse', 'tabulate-positions', 'dce'];

export function getPass(name: string): Pass {
  const p = PASSES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown pass '${name}' (passes: ${PASSES.map((x) => x.name).join(', ')})`);
  return p;
}

/** Every stage: the input graph, then the graph after each named pass in turn. */
export function pipelineStages(g: Graph, names: readonly string[] = PIPELINE): { pass: string; graph: Graph }[] {
  const stages = [{ pass: 'input', graph: g }];
  for (const name of names) stages.push({ pass: name, graph: getPass(name).run(stages[stages.length - 1].graph) });
  return stages;
}

export function runPipeline(g: Graph, names: readonly string[] = PIPELINE): Graph {
  return names.reduce((acc, name) => getPass(name).run(acc), g);
}
