import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Graph } from '../../ir/graph.ts';
import type { Artifact } from '../../../backends/webgpu/artifact.ts';
import { graphForCheckpoint, initModel, loadModel, lowerSpecWithFiles, type Model } from '../../model/model.ts';
import { specName } from '../../model/spec.ts';
import { collectSet, OPT_LEVEL_HELP, parseIntOption, parseOptLevel } from '../options.ts';
import { DEFAULT_OPT_LEVEL, type OptLevel } from '../../passes/fuse.ts';
import { UsageError } from '../errors.ts';
import { checkOutputNotInput } from '../../io/files.ts';
import { checkpointFiles } from '../../io/checkpoint.ts';
import type { ConfigOverride } from '../../dsl/config.ts';
import type { PlanMemory } from '../../../backends/webgpu/plan.ts';

interface CompileOptions {
  target: string;
  output?: string;
  weights?: string;
  seed: number;
  set: ConfigOverride[];
  withPast?: boolean;
  opset?: number;
  maxBatch?: number;
  force?: boolean;
  opt: OptLevel;
}

const TARGETS = ['webgpu', 'onnx'] as const;

/** --max-batch's bound: far past any real batch, and small enough that sizes stay in safe integers. */
const MAX_BATCH = 65536;

/** Options that mean something for one target only; given to the other, they are a mistake. */
// (-O is webgpu's: an ONNX export inlines every region, so it has the same ops at every level.)
const TARGET_OF_OPTION: Readonly<Record<string, (typeof TARGETS)[number]>> = { seed: 'onnx', withPast: 'onnx', opset: 'onnx', maxBatch: 'webgpu', opt: 'webgpu' };
const FLAG: Readonly<Record<string, string>> = { seed: '--seed', withPast: '--with-past', opset: '--opset', maxBatch: '--max-batch', opt: '-O' };

/** The model to compile: the spec with a checkpoint's weights and config, or freshly initialised. */
function modelFor(file: string, opts: CompileOptions): Model {
  if (!opts.weights) return initModel(file, { seed: opts.seed, overrides: opts.set });
  // loadModel rejects a checkpoint of another variant (an lr spec with a gp checkpoint).
  return loadModel(opts.weights, { spec: file, overrides: opts.set });
}

/**
 * The default output's name, after the spec file (`generated/gp-norm/`, `gp-norm.onnx`): only a
 * plain name, so that a spec called `...rh` cannot send the output to `generated/..`.
 */
export function defaultOutputName(file: string): string {
  const name = specName(file);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name))
    throw new UsageError(`cannot name the output after the spec file '${path.basename(file)}' (not a plain name); give -o`);
  return name;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

async function compileOnnx(file: string, opts: CompileOptions): Promise<void> {
  const { exportOnnx } = await import('../../../backends/onnx/index.ts');
  const out = opts.output ?? `${defaultOutputName(file)}.onnx`;
  if (!out.endsWith('.onnx')) throw new UsageError(`-o for --target onnx is a .onnx file, got '${out}'`);
  const refuseInputs = (inputs: readonly string[]) => [out, `${out}.data`].forEach((o) => checkOutputNotInput(o, inputs, '-o'));
  refuseInputs([file, ...(opts.weights ? checkpointFiles(opts.weights) : [])]);
  const model = modelFor(file, opts);
  refuseInputs(model.inputs); // the spec's imports, known only now
  const r = await exportOnnx(model.graph, model.weights, {
    withPast: opts.withPast,
    opset: opts.opset,
    specName: specName(model.specFile),
    hfConfig: model.hfConfig,
    outPath: out,
    force: opts.force,
  });
  const data = r.externalData ? ` (+ external data ${out}.data)` : '';
  const source = opts.weights ? `weights from ${opts.weights}` : `fresh weights, seed ${opts.seed}`;
  process.stdout.write(`wrote ${out}${data}: ${mib(r.bytes)}, ${model.graph.name} with ${source}${opts.withPast ? ', with past_key_values' : ''}\n`);
}

/**
 * The graph to compile for webgpu, and every file it was read from (the spec and its imports,
 * a checkpoint's files): weights are not needed, only the dims (from --set, or config.json).
 */
function graphFor(file: string, opts: CompileOptions): { graph: Graph; inputs: string[] } {
  if (opts.weights) return graphForCheckpoint(opts.weights, { spec: file, overrides: opts.set });
  const { graph, specFiles } = lowerSpecWithFiles(file, opts.set);
  return { graph, inputs: specFiles };
}

/** The config keys the summary line shows: GPT-2's size keys where the model has them, else all of its own. */
function summaryConfig(config: Readonly<Record<string, unknown>>): string {
  const gpt2 = ['n_layer', 'n_embd', 'n_head'].filter((k) => Object.hasOwn(config, k));
  return (gpt2.length > 0 ? gpt2 : Object.keys(config)).map((k) => `${k}=${config[k]}`).join(' ');
}

async function compileWebGpuArtifact(file: string, opts: CompileOptions): Promise<void> {
  if (opts.maxBatch !== undefined && (opts.maxBatch < 1 || opts.maxBatch > MAX_BATCH)) throw new UsageError(`--max-batch must be in [1, ${MAX_BATCH}], got ${opts.maxBatch}`);
  const [{ buildArtifactOverlapped, checkArtifactTarget, fileBytes, writeArtifact }, { startModuleGenerator }] = await Promise.all([
    import('../../../backends/webgpu/artifact.ts'),
    import('../../../backends/webgpu/module-generator.ts'),
  ]);
  const out = opts.output ?? path.join('generated', defaultOutputName(file));
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new UsageError(`-o for --target webgpu is a directory, but '${out}' is a file`);
  // Before any work: the directory is replaced whole, so it must hold no input and nothing foreign.
  checkOutputNotInput(out, [file, ...(opts.weights ? [opts.weights] : [])], '-o');
  checkArtifactTarget(out, { force: opts.force });
  // ts-morph loads on another thread while the spec is parsed, lowered and compiled to WGSL.
  const generator = startModuleGenerator();
  let graph: Graph;
  let artifact: Artifact;
  try {
    const lowered = graphFor(file, opts);
    checkOutputNotInput(out, lowered.inputs, '-o'); // the spec's imports, known only now
    graph = lowered.graph;
    artifact = await buildArtifactOverlapped(graph, { specFile: file, maxBatch: opts.maxBatch, level: opts.opt }, generator);
  } finally {
    generator.dispose();
  }
  const { bytes } = writeArtifact(out, artifact, { force: opts.force });
  const m = artifact.manifest;
  const dims = summaryConfig(m.config);
  const constants = m.constantsBytes !== null ? `, constants.bin ${kib(m.constantsBytes)}` : '';
  process.stdout.write(
    `wrote ${out}${path.sep}: ${m.kernels.length} WGSL kernels, plan.json ${kib(fileBytes(artifact, 'plan.json'))}${constants}, ` +
      `model.ts + model.mjs + model.d.mts (class ${m.className}); ${kib(bytes)} in all, ${graph.name}${dims ? ` at ${dims}` : ''}, -O${opts.opt}\n` +
      memoryLine(artifact.plan.memory),
  );
}

/** The plan's memory, one line: what a forward allocates by kind, and a decoder's KV cache. */
function memoryLine(mem: PlanMemory): string {
  const a = mem.activations;
  const kv = mem.kvCache;
  const cache = !kv ? '' : kv.maxBatch === 1 ? `, KV cache ${size(kv.perBatchRow)} at batch 1` : `, KV cache ${size(kv.perBatchRow)} per sequence (${size(kv.atMaxBatch)} at batch ${kv.maxBatch})`;
  return (
    `memory: weights ${size(mem.weights)}, tables ${size(mem.constants + mem.tables)}${mem.tables ? ` (${size(mem.tables)} computed at load)` : ''}, activations ${size(a.planned)} peak (${size(a.withoutReuse)} without reuse), ` +
    `inputs and outputs ${size(mem.inputs + mem.outputs)}${cache}\n`
  );
}

/** Bytes in the largest binary unit under which they are at least 1 (B, KiB, MiB, GiB). */
function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const [unit, scale] = bytes < 2 ** 20 ? ['KiB', 2 ** 10] : bytes < 2 ** 30 ? ['MiB', 2 ** 20] : ['GiB', 2 ** 30];
  return `${(bytes / scale).toFixed(unit === 'GiB' ? 2 : 1)} ${unit}`;
}

function kib(bytes: number): string {
  return bytes >= 2 ** 20 ? mib(bytes) : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile a spec for a target: WGSL + runtime plan + TypeScript API (webgpu), or an ONNX model (onnx)')
    .argument('<file>', 'a .rh file declaring a model')
    .requiredOption('--target <target>', `what to emit: ${TARGETS.join(' or ')}`)
    .option('-o, --output <path>', 'output: a directory for webgpu (default generated/<spec>/), a .onnx file for onnx (default <spec>.onnx)')
    .option('--weights <dir>', 'onnx: take weights and config from this checkpoint instead of initialising fresh ones; webgpu: compile for its config')
    .option('--seed <n>', 'onnx: seed for fresh weights', parseIntOption('--seed'), 0)
    .option('--with-past', 'onnx: add past_key_values inputs and present outputs (KV cache), named as Optimum does')
    .option('--opset <n>', 'onnx: opset version (17..21)', parseIntOption('--opset'))
    .option('-O, --opt <level>', `webgpu: ${OPT_LEVEL_HELP}`, parseOptLevel, DEFAULT_OPT_LEVEL)
    .option('--max-batch <n>', `webgpu: the largest batch the plan allocates for (1..${MAX_BATCH}, default 1)`, parseIntOption('--max-batch'))
    .option('--force', 'replace an output rhc did not write: for webgpu the -o directory is deleted whole, whatever it holds, and the artifact written in its place; for onnx the .onnx file (and its .data) is overwritten')
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action(async (file: string, opts: CompileOptions, command: Command) => {
      if (!(TARGETS as readonly string[]).includes(opts.target)) throw new UsageError(`unknown target '${opts.target}' (targets: ${TARGETS.join(', ')})`);
      for (const [option, target] of Object.entries(TARGET_OF_OPTION))
        if (command.getOptionValueSource(option) === 'cli' && target !== opts.target) throw new UsageError(`${FLAG[option]} is an option of --target ${target}`);
      if (opts.target === 'onnx') return compileOnnx(file, opts);
      return compileWebGpuArtifact(file, opts);
    });
}

