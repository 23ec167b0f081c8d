import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Graph } from '../../ir/graph.ts';
import { graphForCheckpoint, initModel, loadModel, lowerSpec, type Model } from '../../model/model.ts';
import { specName } from '../../model/spec.ts';
import { collectSet, parseIntOption } from '../options.ts';
import { UsageError } from '../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

interface CompileOptions {
  target: string;
  output?: string;
  weights?: string;
  seed: number;
  set: ConfigOverride[];
  withPast?: boolean;
  opset?: number;
  maxBatch?: number;
}

const TARGETS = ['webgpu', 'onnx'] as const;

/** Options that mean something for one target only; given to the other, they are a mistake. */
const TARGET_OF_OPTION: Readonly<Record<string, (typeof TARGETS)[number]>> = { seed: 'onnx', withPast: 'onnx', opset: 'onnx', maxBatch: 'webgpu' };
const FLAG: Readonly<Record<string, string>> = { seed: '--seed', withPast: '--with-past', opset: '--opset', maxBatch: '--max-batch' };

/** The model to compile: the spec with a checkpoint's weights and config, or freshly initialised. */
function modelFor(file: string, opts: CompileOptions): Model {
  if (!opts.weights) return initModel(file, { seed: opts.seed, overrides: opts.set });
  // loadModel rejects a checkpoint of another variant (an lr spec with a gp checkpoint).
  return loadModel(opts.weights, { spec: file, overrides: opts.set });
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

async function compileOnnx(file: string, opts: CompileOptions): Promise<void> {
  const { exportOnnx } = await import('../../../backends/onnx/index.ts');
  const out = opts.output ?? `${specName(file)}.onnx`;
  if (!out.endsWith('.onnx')) throw new UsageError(`-o for --target onnx is a .onnx file, got '${out}'`);
  const model = modelFor(file, opts);
  const r = await exportOnnx(model.graph, model.weights, {
    withPast: opts.withPast,
    opset: opts.opset,
    specName: specName(model.specFile),
    hfConfig: model.hfConfig,
    outPath: out,
  });
  const data = r.externalData ? ` (+ external data ${out}.data)` : '';
  const source = opts.weights ? `weights from ${opts.weights}` : `fresh weights, seed ${opts.seed}`;
  process.stdout.write(`wrote ${out}${data}: ${mib(r.bytes)}, ${model.graph.name} with ${source}${opts.withPast ? ', with past_key_values' : ''}\n`);
}

/** The graph to compile for webgpu: weights are not needed, only the dims (from --set, or a checkpoint's config.json). */
function graphFor(file: string, opts: CompileOptions): Graph {
  return opts.weights ? graphForCheckpoint(opts.weights, { spec: file, overrides: opts.set }).graph : lowerSpec(file, opts.set);
}

async function compileWebGpuArtifact(file: string, opts: CompileOptions): Promise<void> {
  if (opts.maxBatch !== undefined && opts.maxBatch < 1) throw new UsageError(`--max-batch must be at least 1, got ${opts.maxBatch}`);
  const { buildArtifact, fileBytes, writeArtifact } = await import('../../../backends/webgpu/artifact.ts');
  const out = opts.output ?? path.join('generated', specName(file));
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new UsageError(`-o for --target webgpu is a directory, but '${out}' is a file`);
  const graph = graphFor(file, opts);
  const artifact = buildArtifact(graph, { specFile: file, outDir: out, maxBatch: opts.maxBatch });
  const { bytes } = writeArtifact(out, artifact);
  const m = artifact.manifest;
  const dims = ['n_layer', 'n_embd', 'n_head'].map((k) => `${k}=${m.config[k]}`).join(' ');
  const constants = m.constantsBytes !== null ? `, constants.bin ${kib(m.constantsBytes)}` : '';
  process.stdout.write(
    `wrote ${out}${path.sep}: ${m.kernels.length} WGSL kernels, plan.json ${kib(fileBytes(artifact, 'plan.json'))}${constants}, ` +
      `model.ts (class ${m.className}); ${kib(bytes)} in all, ${graph.name} at ${dims}\n`,
  );
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
    .option('--max-batch <n>', 'webgpu: the largest batch the plan allocates for', parseIntOption('--max-batch'))
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action(async (file: string, opts: CompileOptions, command: Command) => {
      if (!(TARGETS as readonly string[]).includes(opts.target)) throw new UsageError(`unknown target '${opts.target}' (targets: ${TARGETS.join(', ')})`);
      for (const [option, target] of Object.entries(TARGET_OF_OPTION))
        if (command.getOptionValueSource(option) === 'cli' && target !== opts.target) throw new UsageError(`${FLAG[option]} is an option of --target ${target}`);
      if (opts.target === 'onnx') return compileOnnx(file, opts);
      return compileWebGpuArtifact(file, opts);
    });
}

