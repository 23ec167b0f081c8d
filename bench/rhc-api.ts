// The bench's only door into rhc's compiler (with rhc-runtime.ts, which it re-exports, for the
// runtime). Everything here goes through entry points meant to last: compileModel, the pass
// pipeline, compileWebGpu/buildArtifact/writeArtifact, exportOnnx/openSession, initModel/saveModel.
// When the compiler's layout changes, or learns optimisation levels, this file changes and the
// rest of bench/ does not.
//
// Optimisation levels: every compiling function takes one. Today rhc has a single pipeline, so
// OPT_LEVELS holds only 'default'; when `rhc compile -O0/-O1/-O2` exist, list them here and pass
// the level on (the tables grow a column per level by themselves).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileModel } from '../src/dsl/compile.ts';
import { loadProgram } from '../src/dsl/loader.ts';
import type { ConfigOverride } from '../src/dsl/config.ts';
import type { Graph } from '../src/ir/graph.ts';
import { dimEval, numElements } from '../src/ir/dims.ts';
import { pipelineFor, runPipeline } from '../src/passes/pipeline.ts';
import { compileWebGpu, type WebGpuArtifact } from '../backends/webgpu/index.ts';
import { buildArtifact, writeArtifact } from '../backends/webgpu/artifact.ts';
import { exportOnnx, openSession, RHC_VERSION } from '../backends/onnx/index.ts';
import { initModel, lowerSpec, saveModel } from '../src/model/model.ts';
import { specName } from '../src/model/spec.ts';

export * from './rhc-runtime.ts';
export { openSession, RHC_VERSION };

/** The levels the compiler offers, in the order tables show them. */
export const OPT_LEVELS = ['default'] as const;
export type OptLevel = (typeof OPT_LEVELS)[number];
/** What `rhc compile` uses without a flag. */
export const DEFAULT_LEVEL: OptLevel = 'default';

function checkLevel(level: string): OptLevel {
  if (!(OPT_LEVELS as readonly string[]).includes(level)) throw new Error(`optimisation level '${level}' is not one rhc has (levels: ${OPT_LEVELS.join(', ')})`);
  return level as OptLevel;
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
  t = start();
  const artifact = compileWebGpu(g, { specName: specName(specFile), passes: [] });
  const emitMs = now() - t;
  phases.push({ phase: 'pass kv-cache', ms: kv });
  let rows = 0;
  if (artifact.plan.decoding?.logitRowsSymbol) {
    t = start();
    runPipeline(cached, ['last-rows']);
    rows = now() - t;
    phases.push({ phase: 'pass last-rows', ms: rows });
  }
  phases.push({ phase: 'schedule + WGSL', ms: Math.max(0, emitMs - kv - rows) });
  t = start();
  compileWebGpu(front.graph, { specName: specName(specFile) });
  const backend = now() - t;
  t = start();
  const files = buildArtifact(front.graph, { specFile, outDir });
  phases.push({ phase: 'artifact files', ms: Math.max(0, now() - t - backend) });
  fs.rmSync(outDir, { recursive: true, force: true });
  t = start();
  writeArtifact(outDir, files);
  phases.push({ phase: 'write', ms: now() - t });
  t = start();
  const again = compileModel(specFile, { overrides: overrides(dims) });
  compileWebGpu(again.graph!, { specName: specName(specFile) });
  const endToEnd = now() - t;
  return { phases, endToEnd, dispatches: artifact.plan.dispatches.length };
}

/** The element count of the value a dispatch writes, at the given plan symbol values (undefined: unknown). */
export type WrittenElements = (dispatch: number, dims: ReadonlyMap<string, number>) => number | undefined;

/**
 * The plan rhc would run at `level`, and what the bench's accounting needs beyond plan.json: the
 * size of the value each dispatch writes into a buffer several values share (plan.json gives
 * shapes only to buffers one value owns). It is read from the IR: a dispatch's label starts with
 * `%id op` of the node it stores, and the graph is the one compileWebGpu scheduled, rebuilt here
 * by the same passes (the same passes on the same input give the same ids): the standard ones,
 * kv-cache for decoders, last-rows when the plan computes the last positions' logits only.
 * A label whose op is not its node's is left unresolved (plan-stats then counts the allocation
 * and says so; test/bench checks that none is).
 */
export function planForBench(graph: BenchGraph, spec: string, level: OptLevel): { artifact: WebGpuArtifact; writtenElements: WrittenElements } {
  checkLevel(level);
  const artifact = compileWebGpu(graph, { specName: spec });
  const d = artifact.plan.decoding;
  const scheduled = runPipeline(graph, [...webgpuPasses(level), ...(d ? ['kv-cache'] : []), ...(d?.logitRowsSymbol ? ['last-rows'] : [])]);
  const byId = new Map(scheduled.nodes.map((n) => [n.id, n]));
  const irName = new Map(artifact.plan.symbols.map((s) => [s.name, s.source ?? s.name]));
  const writtenElements: WrittenElements = (i, dims) => {
    const m = /^%(\d+) (\S+)/.exec(artifact.plan.dispatches[i]?.label ?? '');
    const node = m ? byId.get(Number(m[1])) : undefined;
    if (!node || node.op !== m![2]) return undefined;
    return dimEval(numElements(node.type.shape), new Map([...dims].map(([k, v]) => [irName.get(k) ?? k, v])));
  };
  return { artifact, writtenElements };
}

/** Writes the WebGPU artifact directory of `graph` (what `rhc compile --target webgpu` writes). */
export function writeBenchArtifact(graph: BenchGraph, specFile: string, dir: string, level: OptLevel): void {
  checkLevel(level);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  writeArtifact(dir, buildArtifact(graph, { specFile, outDir: dir }));
}

/** The artifact rhc would run at `level`, in memory (for WebGpuModel.create). */
export function compileForRun(graph: BenchGraph, spec: string, level: OptLevel): WebGpuArtifact {
  checkLevel(level);
  return compileWebGpu(graph, { specName: spec });
}

/** A graph that is not a model (no ids, positions or KV cache) compiled with bounds on its own symbols. */
export function compileGraphForRun(graph: BenchGraph, spec: string, bounds: Dims, level: OptLevel): WebGpuArtifact {
  checkLevel(level);
  return compileWebGpu(graph, { specName: spec, bounds, decoding: false });
}

export { specName };
