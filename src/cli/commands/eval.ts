import * as path from 'node:path';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { loadModel, type Model } from '../../model/model.ts';
import { loadTokens } from '../../train/data.ts';
import { evalWindows, evaluateTokens, type ForwardFn } from '../../train/eval.ts';
import { BACKEND_NAMES, getBackend } from '../../runtime/backends.ts';
import { collectSet, parseChoice, parseIntOption } from '../options.ts';
import { UsageError } from '../errors.ts';
import { RhcError } from '../../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

interface EvalFlags { data: string; seqLen?: number; stride?: number; backend: string; batchSize: number; json?: boolean; cacheDir?: string; spec?: string; set: ConfigOverride[] }

/** Progress on stderr: a bar on a terminal, one line otherwise. */
function progress(what: string, windows: number, targets: number): { update: (done: number) => void; stop: () => void } {
  if (process.stderr.isTTY !== true) {
    process.stderr.write(`${what}: ${targets.toLocaleString('en-US')} targets in ${windows.toLocaleString('en-US')} windows\n`);
    return { update: () => undefined, stop: () => undefined };
  }
  const bar = new SingleBar({ format: `${what} {bar} {value}/{total} targets | ETA {eta_formatted}`, stream: process.stderr, etaBuffer: 20, hideCursor: true });
  bar.start(targets, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

/**
 * A forward function for the backend. WebGPU compiles once for the largest batch and keeps the
 * model for every window (its `rhc forward` backend recompiles per call).
 */
async function forwardFor(name: string, model: Model, maxBatch: number): Promise<{ forward: ForwardFn; close: () => void }> {
  if (name === 'webgpu') {
    const { compileWebGpu } = await import('../../../backends/webgpu/index.ts');
    const { processDevice } = await import('../../runtime/webgpu/backend.ts');
    const { WebGpuModel } = await import('../../runtime/webgpu/model.ts');
    const artifact = compileWebGpu(model.graph, { specName: model.graph.name, maxBatch });
    const gpu = await WebGpuModel.create(await processDevice(), artifact, model.weights);
    return { forward: (ids, batch, seq) => gpu.forward(ids, batch, seq), close: () => gpu.destroy() };
  }
  const backend = await getBackend(name);
  return { forward: (ids, batch, seq) => backend.forward({ graph: model.graph, weights: model.weights, ids, batch, seq }), close: () => undefined };
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      "perplexity and next-token accuracy of a checkpoint on a token stream, with Hugging Face's sliding window: " +
        'windows of --seq-len tokens every --stride tokens, each scoring only the targets no earlier window scored (every token after the first is scored once)',
    )
    .argument('<model-dir>', 'checkpoint directory (config.json + model.safetensors)')
    .requiredOption('--data <path>', 'tokens to score: text (GPT-2 BPE), .parquet (its text column), .bin (uint16) or .npy (int32/int64)')
    .option('--seq-len <n>', 'tokens per window (default: min(n_positions, 1024))', parseIntOption('--seq-len'))
    .option('--stride <n>', 'tokens between window starts, 1..seq-len (default: seq-len, non-overlapping windows); smaller gives each target more context and costs seq-len/stride times the compute', parseIntOption('--stride'))
    .option('--backend <name>', `where to run: ${BACKEND_NAMES.join(', ')}`, parseChoice('--backend', BACKEND_NAMES), 'cpu')
    .option('--batch-size <n>', 'windows per forward pass (the logits of one batch take batch x seq-len x vocab floats)', parseIntOption('--batch-size'), 1)
    .option('--cache-dir <dir>', 'cache the ids of tokenised text here, for the next run (default: tokenise every time)')
    .option('--json', 'print one JSON object instead of a table')
    .option('--spec <file.rh>', 'use this spec instead of the one config.json selects')
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action(async (dir: string, opts: EvalFlags) => {
      if (opts.batchSize < 1) throw new UsageError(`--batch-size must be at least 1, got ${opts.batchSize}`);
      // the data first: a missing or unreadable file fails before the model is loaded
      const { tokens, source } = await loadTokens(opts.data, { cacheDir: opts.cacheDir, progress: true });
      const model = loadModel(dir, { spec: opts.spec, overrides: opts.set });
      const vocab = model.graph.config.vocab_size as number;
      const maxPos = model.graph.config.n_positions as number;
      const seqLen = opts.seqLen ?? Math.min(maxPos, 1024);
      if (seqLen < 1 || seqLen > maxPos) throw new UsageError(`--seq-len must be 1..${maxPos} (the model's n_positions), got ${seqLen}`);
      const stride = opts.stride ?? seqLen;
      if (stride < 1 || stride > seqLen) throw new UsageError(`--stride must be 1..${seqLen} (the window length; a larger stride would skip tokens), got ${stride}`);
      if (tokens.length < 2) throw new RhcError(`${source}: ${tokens.length} token${tokens.length === 1 ? '' : 's'}; evaluation needs at least 2 (one to predict from, one to predict)`);
      const bad = tokens.findIndex((t) => t >= vocab);
      if (bad >= 0) throw new RhcError(`${source}: token ${tokens[bad]} at index ${bad} is outside the model's vocabulary (vocab_size ${vocab})`);
      const windows = evalWindows(tokens.length, seqLen, stride);
      const { forward, close } = await forwardFor(opts.backend, model, Math.min(opts.batchSize, windows.length));
      const bar = progress(`eval ${path.basename(source)}`, windows.length, tokens.length - 1);
      let r;
      try {
        r = await evaluateTokens(forward, tokens, { seqLen, stride, batchSize: opts.batchSize, vocab, onProgress: (done) => bar.update(done) });
      } finally {
        bar.stop();
        close();
      }
      if (opts.json) {
        const out = { model: dir, data: source, backend: opts.backend, seq_len: seqLen, stride, windows: windows.length, tokens: r.tokens, loss: r.loss, perplexity: r.perplexity, accuracy: r.accuracy };
        process.stdout.write(JSON.stringify(out) + '\n');
        return;
      }
      const rows: [string, string][] = [
        ['tokens scored', r.tokens.toLocaleString('en-US')],
        ['loss', r.loss.toFixed(4)],
        ['perplexity', r.perplexity.toFixed(3)],
        ['accuracy', r.accuracy.toFixed(4)],
      ];
      process.stdout.write(`${source} on ${dir} (${opts.backend}; seq-len ${seqLen}, stride ${stride}, ${windows.length} windows)\n`);
      for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(14)} ${v}\n`);
    });
}
