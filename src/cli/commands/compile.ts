import type { Command } from 'commander';
import { initModel, loadModel, type Model } from '../../model/model.ts';
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
}

const TARGETS = ['webgpu', 'onnx'] as const;

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

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile a spec for a target: WGSL + runtime plan + TypeScript API (webgpu), or an ONNX model (onnx)')
    .argument('<file>', 'a .rh file declaring a model')
    .requiredOption('--target <target>', `what to emit: ${TARGETS.join(' or ')}`)
    .option('-o, --output <path>', 'output: a directory for webgpu (default generated/<spec>/), a .onnx file for onnx (default <spec>.onnx)')
    .option('--weights <dir>', 'onnx: take weights and config from this checkpoint instead of initialising fresh ones')
    .option('--seed <n>', 'onnx: seed for fresh weights', parseIntOption('--seed'), 0)
    .option('--with-past', 'onnx: add past_key_values inputs and present outputs (KV cache), named as Optimum does')
    .option('--opset <n>', 'onnx: opset version (17..21)', parseIntOption('--opset'))
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action(async (file: string, opts: CompileOptions) => {
      if (!(TARGETS as readonly string[]).includes(opts.target)) throw new UsageError(`unknown target '${opts.target}' (targets: ${TARGETS.join(', ')})`);
      if (opts.target === 'onnx') return compileOnnx(file, opts);
      throw new UsageError(`--target webgpu is not available in this build`);
    });
}

