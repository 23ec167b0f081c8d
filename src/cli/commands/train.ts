import * as path from 'node:path';
import type { Command } from 'commander';
import { RhcError } from '../../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';
import { formatBytes } from '../../io/files.ts';
import { LR_SCHEDULES, type LrScheduleName } from '../../train/schedule.ts';
// Types only: the trainer (and WebGPU) load when a run starts, so `rhc --help` stays quick.
import type { TrainOptions, TrainReporter } from '../../train/train.ts';
import { DEFAULT_OPTIMIZER } from '../../train/step-graph.ts'; // IR only: cheap to load

const METRICS_FILE = 'metrics.jsonl';
import { collectSet, parseChoice, parseIntOption, parseNumberOption } from '../options.ts';
import { UsageError } from '../errors.ts';

interface TrainFlags {
  data?: string; evalData?: string; out?: string; resume?: string;
  lr: number; lrSchedule: LrScheduleName; epochs: number; maxSteps?: number; warmupRatio: number; weightDecay: number; maxGradNorm: number;
  seqLen: number; batchSize: number; gradAccum: number; evalEvery?: number; evalBlocks?: number; saveEvery?: number; seed: number; shuffle: boolean; set: ConfigOverride[];
}

/** Flags that set up a run; a resumed run keeps the ones it started with. */
const RUN_FLAGS = ['data', 'evalData', 'lr', 'lrSchedule', 'epochs', 'maxSteps', 'warmupRatio', 'weightDecay', 'maxGradNorm', 'seqLen', 'batchSize', 'gradAccum', 'evalEvery', 'evalBlocks', 'saveEvery', 'seed', 'shuffle', 'set'] as const;

const fmt = (v: number) => (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3));

/** A progress bar on a terminal; a line every few steps otherwise (CI logs, pipes). */
async function cliReporter(): Promise<TrainReporter> {
  const { SingleBar } = await import('cli-progress');
  const tty = process.stderr.isTTY === true;
  let bar: InstanceType<typeof SingleBar> | undefined;
  let total = 0;
  let lastLine = 0;
  return {
    start(info) {
      total = info.totalSteps;
      process.stderr.write(`training ${info.params.toLocaleString('en-US')} parameters on WebGPU: ${info.totalSteps} steps (${info.stepsPerEpoch} per epoch) of ${info.tokensPerStep.toLocaleString('en-US')} tokens; the plan allocates ${formatBytes(info.planBytes)}\n`);
      if (tty) {
        bar = new SingleBar({ format: 'step {value}/{total} | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}', stream: process.stderr, etaBuffer: 20, hideCursor: true });
        bar.start(info.totalSteps, info.firstStep, { loss: '-', lr: '-', tps: '-' });
      }
    },
    step(r) {
      if (bar) bar.update(r.step, { loss: fmt(r.loss), lr: fmt(r.lr), tps: r.tokens_per_s.toLocaleString('en-US') });
      else if (r.step === 1 || r.step === total || Date.now() - lastLine > 10_000) {
        lastLine = Date.now();
        process.stderr.write(`step ${r.step}/${total}  loss ${fmt(r.loss)}  lr ${fmt(r.lr)}  grad_norm ${fmt(r.grad_norm)}  ${r.tokens_per_s} tok/s\n`);
      }
    },
    eval(r) {
      const line = `eval at step ${r.step}: loss ${fmt(r.eval_loss)}  perplexity ${r.perplexity.toFixed(2)}  accuracy ${r.accuracy.toFixed(4)} (${r.eval_tokens} tokens)`;
      if (bar) bar.stop();
      process.stderr.write(line + '\n');
      if (bar) bar.start(total, r.step);
    },
    saved(c) {
      if (!bar) process.stderr.write(`saved ${c.dir}\n`);
    },
    message(text) {
      process.stderr.write(text + '\n');
    },
    stop() {
      bar?.stop();
    },
  };
}

export function registerTrain(program: Command): void {
  const d = DEFAULT_OPTIMIZER;
  program
    .command('train')
    .description('train a model on WebGPU (forward, backward and AdamW on the device) with the seed\'s recipe as defaults; writes metrics.jsonl and resumable checkpoints')
    .argument('[source]', 'a .rh spec (fresh weights from --seed) or a checkpoint directory to fine-tune')
    .option('--data <path>', 'training text (.tokens, .raw, .txt: GPT-2 BPE), WikiText parquet shards, or token files (.bin uint16, .npy int32/int64)')
    .option('--eval-data <path>', 'evaluation data, in the same formats (eval loss, perplexity, accuracy)')
    .option('--out <dir>', 'run directory: metrics.jsonl, checkpoint-<step>/ (Hugging Face layout + optimizer state), latest')
    .option('--resume <dir>', 'continue the run in <dir> from its latest checkpoint, with the options it was started with')
    .option('--lr <x>', 'peak learning rate', parseNumberOption('--lr'), 1e-4)
    .option('--lr-schedule <name>', `${LR_SCHEDULES.join(' | ')} (linear and cosine warm up first)`, parseChoice('--lr-schedule', LR_SCHEDULES), 'linear')
    .option('--epochs <n>', 'passes over the data', parseIntOption('--epochs'), 5)
    .option('--max-steps <n>', 'optimizer steps in all (overrides --epochs)', parseIntOption('--max-steps'))
    .option('--warmup-ratio <x>', 'fraction of the steps spent warming up', parseNumberOption('--warmup-ratio'), 0.1)
    .option('--weight-decay <x>', `AdamW's decoupled weight decay (none on biases and LayerNorm parameters); betas (${d.beta1}, ${d.beta2}), eps ${d.eps}`, parseNumberOption('--weight-decay'), d.weightDecay)
    .option('--max-grad-norm <x>', 'clip the global gradient norm to this (0: no clipping)', parseNumberOption('--max-grad-norm'), d.maxGradNorm)
    .option('--seq-len <n>', 'tokens per block (blocks are cut from the concatenated text)', parseIntOption('--seq-len'), 1024)
    .option('--batch-size <n>', 'blocks per micro-batch', parseIntOption('--batch-size'), 1)
    .option('--grad-accum <n>', 'micro-batches per optimizer step', parseIntOption('--grad-accum'), 1)
    .option('--eval-every <n>', 'evaluate every n steps (and at the end)', parseIntOption('--eval-every'))
    .option('--eval-blocks <n>', 'evaluate on the first n blocks of --eval-data only (default: all)', parseIntOption('--eval-blocks'))
    .option('--save-every <n>', 'checkpoint every n steps (and at the end)', parseIntOption('--save-every'))
    .option('--seed <n>', 'seed of the initial weights and of the data order', parseIntOption('--seed'), 42)
    .option('--no-shuffle', 'keep the blocks in file order (default: shuffled per epoch with the seed)')
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .addHelpText('after', `
Every step appends {"step", "loss", "lr", "grad_norm", "tokens_per_s"} to <out>/${METRICS_FILE}; evaluations append
{"step", "eval_loss", "perplexity", "accuracy"}. A NaN or infinite loss stops the run, naming the step; the last
checkpoint written stays whole (each is written aside and renamed into place).

Example:
  rhc train spec/gp-norm.rh --data ../shared/data/wikitext-2/wiki.valid.tokens --set n_layer=2 --set n_embd=64 --set n_head=4 --max-steps 200 --out runs/gp-norm`)
    .action(async (source: string | undefined, flags: TrainFlags, cmd: Command) => {
      let out: string;
      if (flags.resume !== undefined) {
        const given = RUN_FLAGS.filter((f) => cmd.getOptionValueSource(f) === 'cli');
        if (source !== undefined || given.length > 0)
          throw new UsageError(`--resume continues a run with the options it was started with; drop ${[...(source !== undefined ? [source] : []), ...given.map((f) => '--' + f.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()))].join(', ')}`);
        if (flags.out !== undefined && path.resolve(flags.out) !== path.resolve(flags.resume)) throw new UsageError('--resume writes into the run it continues; --out, if given, must be the same directory');
        out = flags.resume;
      } else {
        if (source === undefined) throw new UsageError('give a .rh spec or a checkpoint directory to train (or --resume DIR)');
        if (flags.data === undefined) throw new UsageError('--data is required: the text or token file to train on');
        if (flags.out === undefined) throw new UsageError('--out is required: the run directory for metrics and checkpoints');
        out = flags.out;
      }
      const opts: TrainOptions = {
        source: source ?? '',
        data: flags.data ? path.resolve(flags.data) : '',
        ...(flags.evalData ? { evalData: path.resolve(flags.evalData) } : {}),
        lr: flags.lr, lrSchedule: flags.lrSchedule, epochs: flags.epochs, ...(flags.maxSteps ? { maxSteps: flags.maxSteps } : {}),
        warmupRatio: flags.warmupRatio, weightDecay: flags.weightDecay, maxGradNorm: flags.maxGradNorm, seqLen: flags.seqLen,
        batchSize: flags.batchSize, gradAccum: flags.gradAccum, ...(flags.evalEvery ? { evalEvery: flags.evalEvery } : {}),
        ...(flags.evalBlocks ? { evalBlocks: flags.evalBlocks } : {}), ...(flags.saveEvery ? { saveEvery: flags.saveEvery } : {}),
        seed: flags.seed, shuffle: flags.shuffle, overrides: flags.set,
      };
      const [{ processDevice }, { train }] = await Promise.all([import('../../runtime/webgpu/backend.ts'), import('../../train/train.ts')]);
      const result = await train(opts, out, await cliReporter(), await processDevice(), flags.resume !== undefined);
      if (!result.checkpoint) throw new RhcError('internal: the run ended without a checkpoint');
      const ev = result.lastEval ? `; eval loss ${fmt(result.lastEval.eval_loss)}, perplexity ${result.lastEval.perplexity.toFixed(2)}, accuracy ${result.lastEval.accuracy.toFixed(4)}` : '';
      process.stdout.write(`trained ${result.steps} steps: final loss ${result.lastLoss !== undefined ? fmt(result.lastLoss) : '-'}${ev}\nwrote ${result.checkpoint.dir} and ${path.join(out, METRICS_FILE)}\n`);
    });
}
