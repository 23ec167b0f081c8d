import type { Command } from 'commander';
import { loadModel } from '../../model/model.ts';
import { encode, EOT_TOKEN, TokenStreamDecoder } from '../../io/tokenizer.ts';
import { BACKEND_NAMES, getDecoder } from '../../runtime/backends.ts';
import { generateTokens } from '../../runtime/generate.ts';
import { collectSet, parseChoice, parseIntOption, parseNumberOption } from '../options.ts';
import { UsageError } from '../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

interface GenerateCliOptions {
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  backend: string;
  spec?: string;
  set: ConfigOverride[];
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text from a checkpoint, streaming it as it is produced (KV cache; GPT-2 BPE, offline)')
    .argument('<model-dir>', 'checkpoint directory (config.json + model.safetensors)')
    .requiredOption('--prompt <text>', 'the text to continue')
    .option('--max-new-tokens <n>', 'how many tokens to generate at most', parseIntOption('--max-new-tokens'), 50)
    .option('--temperature <t>', 'sampling temperature; 0 is greedy and deterministic', parseNumberOption('--temperature'), 1)
    .option('--top-k <k>', 'sample only among the k most likely tokens', parseIntOption('--top-k'))
    .option('--top-p <p>', 'sample only among the most likely tokens whose probability adds up to p', parseNumberOption('--top-p'))
    .option('--seed <n>', 'random seed for sampling', parseIntOption('--seed'), 0)
    .option('--backend <name>', `where to run: ${BACKEND_NAMES.join(', ')} (cpu: the reference interpreter; onnx: onnxruntime, fast on a CPU)`, parseChoice('--backend', BACKEND_NAMES), 'cpu')
    .option('--spec <file.rh>', "use this spec instead of the one config.json selects")
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action(async (dir: string, opts: GenerateCliOptions) => {
      if (opts.temperature < 0) throw new UsageError(`--temperature must be >= 0, got ${opts.temperature}`);
      if (opts.topP !== undefined && !(opts.topP > 0 && opts.topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${opts.topP}`);
      if (opts.topK !== undefined && opts.topK < 1) throw new UsageError(`--top-k must be >= 1, got ${opts.topK}`);
      if (opts.maxNewTokens < 0) throw new UsageError(`--max-new-tokens must be >= 0, got ${opts.maxNewTokens}`);
      const prompt = encode(opts.prompt);
      if (prompt.length === 0) throw new UsageError('the prompt has no tokens');
      const model = loadModel(dir, { spec: opts.spec, overrides: opts.set });
      const capacity = model.graph.config.n_positions as number;
      const vocab = model.graph.config.vocab_size as number;
      if (prompt.length >= capacity) throw new UsageError(`the prompt has ${prompt.length} tokens; the model holds ${capacity} (n_positions)`);
      if (prompt.some((id) => id >= vocab)) throw new UsageError(`the prompt has tokens outside this model's vocabulary (vocab_size ${vocab})`);
      const decoder = await getDecoder(opts.backend, model.graph, model.weights);
      const room = capacity - prompt.length;
      if (opts.maxNewTokens > room) process.stderr.write(`note: only ${room} more tokens fit in n_positions ${capacity}\n`);
      const text = new TokenStreamDecoder();
      process.stdout.write(opts.prompt);
      try {
        for await (const id of generateTokens(decoder, prompt, { ...opts, maxNewTokens: Math.min(opts.maxNewTokens, room), stopToken: EOT_TOKEN }))
          process.stdout.write(id === EOT_TOKEN ? '' : text.push(id));
        process.stdout.write(text.flush() + '\n');
      } finally {
        decoder.dispose();
      }
    });
}
