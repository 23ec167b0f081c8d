import type { Command } from 'commander';
import { initModel, saveModel } from '../../model/model.ts';
import { collectSet, parseIntOption } from '../options.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

export function registerInitWeights(program: Command): void {
  program
    .command('init-weights')
    .description('write a randomly initialised checkpoint (Hugging Face layout) for a spec')
    .argument('<file>', 'a .rh file declaring a model')
    .requiredOption(
      '--out <dir>',
      'checkpoint directory to write (config.json + model.safetensors, and the spec files when the spec is not bundled); it is written whole or not at all. An existing directory is replaced only when it is empty or a checkpoint rhc wrote (config.json with model_type "rotating-head-gpt2", nothing but checkpoint files)',
    )
    .option('--force', 'replace --out even when it holds other files: everything in it is deleted (never a directory holding the spec)')
    .option('--seed <n>', 'random seed', parseIntOption('--seed'), 0)
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action((file: string, opts: { out: string; force?: boolean; seed: number; set: ConfigOverride[] }) => {
      const model = initModel(file, { seed: opts.seed, overrides: opts.set });
      saveModel(model, opts.out, { force: opts.force });
      const count = [...model.weights.values()].reduce((n, w) => n + w.length, 0);
      process.stdout.write(`wrote ${opts.out}/config.json and model.safetensors: ${model.weights.size} tensors, ${count.toLocaleString('en-US')} parameters (${model.graph.name}, seed ${opts.seed})\n`);
    });
}
