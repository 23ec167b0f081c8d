// The bench's only door into rhc's compiler (with rhc-runtime.ts, which it re-exports, for the
// runtime). Everything here goes through entry points meant to last: compileModel, the pass
// pipeline, compileWebGpu/buildArtifact/writeArtifact, exportOnnx/openSession, initModel/saveModel.
// When the compiler's layout changes, this file changes and the rest of bench/ does not.
//
// Optimisation levels: every compiling function takes one. OPT_LEVELS are those the tables
// compare (-O0, one kernel per op, against the default -O2; -O1 is between them); timed runs use
// the default.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileModel } from '../src/dsl/compile.ts';
import { loadProgram } from '../src/dsl/loader.ts';
import type { ConfigOverride } from '../src/dsl/config.ts';
import { isRegion, type Graph, type Node } from '../src/ir/graph.ts';
import { dimEval, numElements } from '../src/ir/dims.ts';
import { pipelineFor, runPipeline } from '../src/passes/pipeline.ts';
import { fuse, type OptLevel as CompilerLevel } from '../src/passes/fuse.ts';
import { FUSION_RULES } from '../src/passes/fusion-rules.ts';
import { positionTables } from '../src/passes/position-tables.ts';
import { eliminateDeadCode } from '../src/passes/dce.ts';
import { compileWebGpu, webgpuGraph, type WebGpuArtifact } from '../backends/webgpu/index.ts';
import { buildArtifact, writeArtifact } from '../backends/webgpu/artifact.ts';
import { exportOnnx, openSession, RHC_VERSION } from '../backends/onnx/index.ts';
import { initModel, lowerSpec, saveModel } from '../src/model/model.ts';
import { specName } from '../src/model/spec.ts';

export * from './rhc-runtime.ts';
export { openSession, RHC_VERSION };

/** The levels the compiler offers, in the order tables show them. */
export const OPT_LEVELS = ['-O0', '-O2'] as const;
export type OptLevel = (typeof OPT_LEVELS)[number];
/** What `rhc compile` uses without a flag. */
export const DEFAULT_LEVEL: OptLevel = '-O2';

function checkLevel(level: string): CompilerLevel {
  if (!(OPT_LEVELS as readonly string[]).includes(level)) throw new Error(`optimisation level '${level}' is not one rhc has (levels: ${OPT_LEVELS.join(', ')})`);
  return Number(level.slice(2)) as CompilerLevel;
}

/** The passes compileWebGpu runs at `level`, kv-cache excluded (it comes last, for decoders). */
function webgpuPasses(level: OptLevel): string[] {
  checkLevel(level);
  return pipelineFor({ tabulate: false, kvCache: false });
}

export type BenchGraph = Graph;
export type Dims = Readonly<Record<string, number>>;

function overrides(dims: Dims): ConfigOverride[] {
  return Object.entries(dims).map(([name, value]) => ({ name, value, origin: 'bench', strict: true }));
}

/** A spec lowered with `dims` (the graph alone: no weights are made). */
export function lowerForBench(specFile: string, dims: Dims): BenchGraph {
  return lowerSpec(specFile, overrides(dims));
}

/** A spec lowered with `dims`, with GPT-2's initial weights (seeded), as a checkpoint could hold. */
export function benchModel(specFile: string, dims: Dims, seed = 0) {
  const model = initModel(specFile, { seed, overrides: overrides(dims) });
  return {
    graph: model.graph as BenchGraph,
    config: { ...model.graph.config },
    weights: model.weights as ReadonlyMap<string, Float32Array>,
    /** writes config.json + model.safetensors to `dir` (a fresh or empty directory) */
    save: (dir: string) => saveModel(model, dir),
    /** rhc's ONNX export of this model (opset 17; `withPast`: past_key_values in, present out) */
    exportOnnx: (outPath: string, withPast: boolean) => exportOnnx(model.graph, model.weights, { specName: specName(specFile), hfConfig: model.hfConfig, outPath, withPast }),
  };
}

export interface Phase {
  phase: string;
  ms: number;
}

/**
 * One compile of `specFile` for WebGPU, timed by phase. parse is loadProgram alone; compileModel
 * parses again, so check+lower is its time less parse's. Each pass runs alone (runPipeline with
 * one name). compileWebGpu on the passed graph runs kv-cache (and last-rows, when the plan has
 * it), schedules and emits WGSL: emission is its time less theirs, each timed alone.
 * buildArtifact repeats the whole compile and adds model.ts, the manifest and the hashes:
 * "artifact files" is its time less that of compileWebGpu on the lowered graph, timed just
 * before it. `endToEnd` times compileModel + compileWebGpu in one block (parse to WGSL, what
 * the target is about).
 */
export function compilePhases(specFile: string, dims: Dims, level: OptLevel, outDir: string): { phases: Phase[]; endToEnd: number; dispatches: number } {
  // With --expose-gc (npm run bench passes it) garbage of one phase is collected before the next
  // is timed, so no phase pays for another's.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const start = () => (gc(), performance.now());
  const now = () => performance.now();
  const phases: Phase[] = [];
  let t = start();
  const program = loadProgram(specFile);
  const parse = now() - t;
  if (program.diagnostics.length) throw new Error(`${specFile} does not parse: ${program.diagnostics[0].message}`);
  t = start();
  const front = compileModel(specFile, { overrides: overrides(dims) });
  const frontMs = now() - t;
  if (!front.graph) throw new Error(`${specFile} does not compile: ${front.diagnostics[0]?.message}`);
  phases.push({ phase: 'parse', ms: parse }, { phase: 'check + lower', ms: Math.max(0, frontMs - parse) });
  let g = front.graph;
  const seen = new Map<string, number>();
  for (const name of webgpuPasses(level)) {
    t = start();
    g = runPipeline(g, [name]);
    const ms = now() - t;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    phases.push({ phase: `pass ${name}${n > 1 ? ` (${n})` : ''}`, ms });
  }
  t = start();
  const cached = runPipeline(g, ['kv-cache']);
  const kv = now() - t;
  const n = checkLevel(level);
  t = start();
  const artifact = compileWebGpu(g, { specName: specName(specFile), passes: [], level: n });
  const emitMs = now() - t;
  phases.push({ phase: 'pass kv-cache', ms: kv });
  let rows = 0;
  let last = cached;
  if (artifact.plan.decoding?.logitRowsSymbol) {
    t = start();
    last = runPipeline(cached, ['last-rows']);
    rows = now() - t;
    phases.push({ phase: 'pass last-rows', ms: rows });
  }
  t = start();
  if (n > 0) fuse(last, n);
  const fuseMs = now() - t;
  if (n > 0) phases.push({ phase: 'pass fuse', ms: fuseMs });
  t = start();
  if (n >= 2) eliminateDeadCode(positionTables(g).graph);
  const tablesMs = now() - t;
  if (n >= 2) phases.push({ phase: 'pass position-tables', ms: tablesMs });
  phases.push({ phase: 'schedule + WGSL', ms: Math.max(0, emitMs - kv - rows - fuseMs - tablesMs) });
  t = start();
  compileWebGpu(front.graph, { specName: specName(specFile), level: n });
  const backend = now() - t;
  t = start();
  const files = buildArtifact(front.graph, { specFile, level: n });
  phases.push({ phase: 'artifact files', ms: Math.max(0, now() - t - backend) });
  fs.rmSync(outDir, { recursive: true, force: true });
  t = start();
  writeArtifact(outDir, files);
  phases.push({ phase: 'write', ms: now() - t });
  t = start();
  const again = compileModel(specFile, { overrides: overrides(dims) });
  compileWebGpu(again.graph!, { specName: specName(specFile), level: n });
  const endToEnd = now() - t;
  return { phases, endToEnd, dispatches: artifact.plan.dispatches.length };
}

/** The element count of the value a dispatch writes into each buffer it writes, at the given plan symbol values (undefined: unknown). */
export type WrittenElements = (dispatch: number, dims: ReadonlyMap<string, number>) => number | undefined;

/**
 * The plan rhc would run at `level`, and what the bench's accounting needs beyond plan.json: the
 * size of the value each dispatch writes into a buffer several values share (plan.json gives
 * shapes only to buffers one value owns). It is read from the IR: a dispatch's label starts with
 * `%id op` of the node it stores (a region's body node, for one rendered op by op), and the graph
 * is the one compileWebGpu scheduled (webgpuGraph: the same passes give the same ids).
 * A label whose op is not its node's is left unresolved (plan-stats then counts the allocation
 * and says so; test/bench checks that none is).
 */
export function planForBench(graph: BenchGraph, spec: string, level: OptLevel): { artifact: WebGpuArtifact; writtenElements: WrittenElements } {
  const n = checkLevel(level);
  const artifact = compileWebGpu(graph, { specName: spec, level: n });
  const scheduled = webgpuGraph(graph, { level: n }).graph;
  // Regions rendered op by op (or with their LayerNorm apart) label dispatches by body nodes.
  const byId = new Map<number, Node>();
  const collect = (nodes: readonly Node[]) => nodes.forEach((n) => (byId.set(n.id, n), isRegion(n.attrs.body) && collect(n.attrs.body.nodes)));
  collect(scheduled.nodes);
  const irName = new Map(artifact.plan.symbols.map((s) => [s.name, s.source ?? s.name]));
  const writtenElements: WrittenElements = (i, dims) => {
    const m = /^%(\d+) (\S+)/.exec(artifact.plan.dispatches[i]?.label ?? '');
    const node = m ? byId.get(Number(m[1])) : undefined;
    if (!node || node.op !== m![2]) return undefined;
    // A region handing out several values returns them stacked on axis 0, each part to a
    // buffer of its own (q, and k and v into the KV cache): a written buffer holds one part.
    const rule = FUSION_RULES.find((r) => r.name === node.attrs.rule);
    const shape = rule && rule.maxRoots > 1 ? node.type.shape.slice(1) : node.type.shape;
    return dimEval(numElements(shape), new Map([...dims].map(([k, v]) => [irName.get(k) ?? k, v])));
  };
  return { artifact, writtenElements };
}

/** Writes the WebGPU artifact directory of `graph` (what `rhc compile --target webgpu` writes). */
export function writeBenchArtifact(graph: BenchGraph, specFile: string, dir: string, level: OptLevel): void {
  const n = checkLevel(level);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  writeArtifact(dir, buildArtifact(graph, { specFile, level: n }));
}

/** The artifact rhc would run at `level`, in memory (for WebGpuModel.create). */
export function compileForRun(graph: BenchGraph, spec: string, level: OptLevel): WebGpuArtifact {
  return compileWebGpu(graph, { specName: spec, level: checkLevel(level) });
}

/** A graph that is not a model (no ids, positions or KV cache) compiled with bounds on its own symbols. */
export function compileGraphForRun(graph: BenchGraph, spec: string, bounds: Dims, level: OptLevel): WebGpuArtifact {
  return compileWebGpu(graph, { specName: spec, bounds, decoding: false, level: checkLevel(level) });
}

export { specName };

// Training (issue 9): the step graph, the trainer, and the loss graph a forward is timed on.
export { lossGraph, trainStepGraph, LOSS_OUTPUT, LOSS_SCALE_INPUT } from '../src/train/step-graph.ts';
export { WebGpuTrainer, specialiseToShape } from '../src/runtime/webgpu/trainer.ts';
export { compileWebGpu, initModel };
