import type { Command } from 'commander';
import { loadModel } from '../../model/model.ts';
import { checkOutputNotInput } from '../../io/files.ts';
import { checkpointFiles } from '../../io/checkpoint.ts';
import { writeSafetensors } from '../../io/safetensors.ts';
import { encode } from '../../io/tokenizer.ts';
import type { GradBackend } from '../../train/model-gradients.ts';
import type { Precision } from '../../ir/reference.ts';
import type { ConfigOverride } from '../../dsl/config.ts';
import { checkIdsFit, collectSet, parseChoice, parseIds } from '../options.ts';
import { UsageError } from '../errors.ts';

interface GradOptions { ids?: string; text?: string; backend: GradBackend; precision: Precision; out: string; spec?: string; set: ConfigOverride[] }

export function registerGrad(program: Command): void {
  program
    .command('grad')
    .description("the gradient of a checkpoint's next-token loss on one sequence: prints the loss and the global gradient norm, writes one F32 gradient per parameter (under its checkpoint name) as safetensors")
    .argument('<model-dir>', 'checkpoint directory (config.json + model.safetensors)')
    .option('--ids <list>', 'token ids, comma-separated (at least 2)')
    .option('--text <text>', "text, tokenised with GPT-2's BPE (offline)")
    .option('--backend <name>', 'where to run: cpu (the reference interpreter) or webgpu', parseChoice('--backend', ['cpu', 'webgpu']), 'cpu')
    .option('--precision <p>', 'cpu backend: f32 (default) or f64', parseChoice('--precision', ['f32', 'f64']), 'f32')
    .requiredOption('--out <file.safetensors>', 'where to write the gradients (whole or not at all)')
    .option('--spec <file.rh>', 'use this spec instead of the one config.json selects')
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .addHelpText('after', '\nThe loss is the mean cross-entropy of each position predicting the next token (as Hugging Face\'s causal-LM loss shifts labels).')
    .action(async (dir: string, opts: GradOptions) => {
      if ((opts.ids === undefined) === (opts.text === undefined)) throw new UsageError('give exactly one of --ids or --text');
      const ids = opts.ids !== undefined ? parseIds(opts.ids) : encode(opts.text!);
      if (ids.length < 2) throw new UsageError(`the loss needs at least 2 tokens (each position predicts the next), got ${ids.length}`);
      if (opts.precision === 'f64' && opts.backend !== 'cpu') throw new UsageError('--precision f64 is for --backend cpu (the reference interpreter)');
      checkOutputNotInput(opts.out, checkpointFiles(dir), '--out');
      const model = loadModel(dir, { spec: opts.spec, overrides: opts.set });
      checkOutputNotInput(opts.out, model.inputs, '--out');
      checkIdsFit(ids, model.graph.config);
      const { modelGradients } = await import('../../train/model-gradients.ts');
      const r = await modelGradients(model.graph, model.weights, ids, { backend: opts.backend, precision: opts.precision });
      const shapes = new Map(model.graph.nodes.filter((n) => n.op === 'param').map((n) => [n.attrs.name as string, n.type.shape as number[]]));
      const tensors = [...r.grads].map(([name, g]) => ({ name, shape: shapes.get(name)!, data: g instanceof Float32Array ? g : Float32Array.from(g) }));
      writeSafetensors(opts.out, tensors, { format: 'pt', loss: String(r.loss) });
      process.stdout.write(`loss ${r.loss.toPrecision(7)} over ${ids.length - 1} predicted tokens\ngradient norm ${r.norm.toPrecision(7)} (global L2, ${tensors.length} parameters)\nwrote ${opts.out} (${opts.backend})\n`);
    });
}
