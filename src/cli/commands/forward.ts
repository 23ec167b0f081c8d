import type { Command } from 'commander';
import { loadModel } from '../../model/model.ts';
import { writeNpy } from '../../io/npy.ts';
import { encode } from '../../io/tokenizer.ts';
import { BACKEND_NAMES, cpuBackend, getBackend } from '../../runtime/backends.ts';
import { collectSet, parseChoice, parseIds } from '../options.ts';
import type { Precision } from '../../ir/reference.ts';
import { UsageError } from '../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

interface ForwardOptions { ids?: string; text?: string; backend: string; precision: string; out: string; spec?: string; set: ConfigOverride[] }

export function registerForward(program: Command): void {
  program
    .command('forward')
    .description('run a checkpoint on one sequence and write its logits [T, vocab] as float32 .npy')
    .argument('<model-dir>', 'checkpoint directory (config.json + model.safetensors)')
    .option('--ids <list>', 'token ids, comma-separated (e.g. 15496,995,11)')
    .option('--text <text>', "text, tokenised with GPT-2's BPE (offline)")
    .option('--backend <name>', `where to run: ${BACKEND_NAMES.join(', ')}`, parseChoice('--backend', BACKEND_NAMES), 'cpu')
    .option('--precision <p>', 'cpu backend: f32 (default, rounds every op result as a GPU would) or f64 (the oracle)', parseChoice('--precision', ['f32', 'f64']), 'f32')
    .requiredOption('--out <file.npy>', 'where to write the logits')
    .option('--spec <file.rh>', "use this spec instead of the one config.json selects")
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action(async (dir: string, opts: ForwardOptions) => {
      if ((opts.ids === undefined) === (opts.text === undefined)) throw new UsageError('give exactly one of --ids or --text');
      const ids = opts.ids !== undefined ? parseIds(opts.ids) : encode(opts.text!);
      if (ids.length === 0) throw new UsageError('the input has no tokens');
      if (opts.precision === 'f64' && opts.backend !== 'cpu') throw new UsageError('--precision f64 is for --backend cpu (the reference interpreter)');
      const backend = opts.backend === 'cpu' ? cpuBackend(opts.precision as Precision) : await getBackend(opts.backend);
      const model = loadModel(dir, { spec: opts.spec, overrides: opts.set });
      const vocab = model.graph.config.vocab_size as number;
      const maxPos = model.graph.config.n_positions as number;
      const badId = ids.find((id) => id >= vocab);
      if (badId !== undefined) throw new UsageError(`token id ${badId} is outside the vocabulary (vocab_size ${vocab})`);
      if (ids.length > maxPos) throw new UsageError(`${ids.length} tokens exceed n_positions ${maxPos}`);
      const logits = await backend.forward({ graph: model.graph, weights: model.weights, ids: Int32Array.from(ids), batch: 1, seq: ids.length });
      writeNpy(opts.out, [ids.length, vocab], logits);
      process.stdout.write(`wrote ${opts.out}: logits [${ids.length}, ${vocab}] (${backend.name})\n`);
    });
}
