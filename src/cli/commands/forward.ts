import * as fs from 'node:fs';
import type { Command } from 'commander';
import { loadModel } from '../../model/model.ts';
import { isNpyFile, writeNpy } from '../../io/npy.ts';
import { checkOutputNotInput } from '../../io/files.ts';
import { checkpointFiles } from '../../io/checkpoint.ts';
import { encode } from '../../io/tokenizer.ts';
import { RhcError } from '../../errors.ts';
import { BACKEND_NAMES, cpuBackend, getBackend } from '../../runtime/backends.ts';
import { checkIdsFit, collectSet, parseChoice, parseIds } from '../options.ts';
import type { Precision } from '../../ir/reference.ts';
import { UsageError } from '../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

interface ForwardOptions { ids?: string; text?: string; backend: string; precision: string; out: string; force?: boolean; spec?: string; set: ConfigOverride[] }

/** An existing --out is replaced only when it is a .npy file (logits of an earlier run), unless --force. */
function checkReplaceable(out: string, force: boolean | undefined): void {
  let exists = true;
  try {
    fs.lstatSync(out);
  } catch {
    exists = false;
  }
  if (exists && !force && !isNpyFile(out)) {
    throw new RhcError(`--out ${out} exists and is not a .npy file; rhc replaces only .npy files there (pass --force to replace it anyway)`);
  }
}

export function registerForward(program: Command): void {
  program
    .command('forward')
    .description('run a checkpoint on one sequence and write its logits [T, vocab] as float32 .npy')
    .argument('<model-dir>', 'checkpoint directory (config.json + model.safetensors)')
    .option('--ids <list>', 'token ids, comma-separated (e.g. 15496,995,11)')
    .option('--text <text>', "text, tokenised with GPT-2's BPE (offline)")
    .option('--backend <name>', `where to run: ${BACKEND_NAMES.join(', ')}`, parseChoice('--backend', BACKEND_NAMES), 'cpu')
    .option('--precision <p>', 'cpu backend: f32 (default, rounds every op result as a GPU would) or f64 (the oracle)', parseChoice('--precision', ['f32', 'f64']), 'f32')
    .requiredOption('--out <file.npy>', 'where to write the logits, whole or not at all; an existing file there is replaced only when it is a .npy file')
    .option('--force', 'replace --out even when it is not a .npy file (never one of the files this command reads)')
    .option('--spec <file.rh>', "use this spec instead of the one config.json selects")
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action(async (dir: string, opts: ForwardOptions) => {
      if ((opts.ids === undefined) === (opts.text === undefined)) throw new UsageError('give exactly one of --ids or --text');
      const ids = opts.ids !== undefined ? parseIds(opts.ids) : encode(opts.text!);
      if (ids.length === 0) throw new UsageError('the input has no tokens');
      if (opts.precision === 'f64' && opts.backend !== 'cpu') throw new UsageError('--precision f64 is for --backend cpu (the reference interpreter)');
      // The checkpoint's own files first (cheap), so its weights are never offered to --force;
      // the spec files it loads are known after loading, and checked before anything is written.
      checkOutputNotInput(opts.out, checkpointFiles(dir), '--out');
      checkReplaceable(opts.out, opts.force);
      const backend = opts.backend === 'cpu' ? cpuBackend(opts.precision as Precision) : await getBackend(opts.backend);
      const model = loadModel(dir, { spec: opts.spec, overrides: opts.set });
      checkOutputNotInput(opts.out, model.inputs, '--out');
      checkIdsFit(ids, model.graph.config);
      const vocab = model.graph.config.vocab_size as number;
      const logits = await backend.forward({ graph: model.graph, weights: model.weights, ids: Int32Array.from(ids), batch: 1, seq: ids.length });
      writeNpy(opts.out, [ids.length, vocab], logits);
      process.stdout.write(`wrote ${opts.out}: logits [${ids.length}, ${vocab}] (${backend.name})\n`);
    });
}
