// Autoregressive generation over any Decoder: the prompt is fed once, then each sampled token
// is fed back; tokens are yielded as they are chosen so callers can stream text.

import { Rng } from '../io/rng.ts';
import { RhcError } from '../errors.ts';
import type { Decoder } from './decoder.ts';
import { sampleToken, type SamplingOptions } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  seed: number;
  /** stop after producing this token (GPT-2's <|endoftext|>, 50256) */
  stopToken?: number;
}

export async function* generateTokens(decoder: Decoder, prompt: readonly number[], opts: GenerateOptions): AsyncGenerator<number> {
  if (prompt.length === 0) throw new RhcError('the prompt has no tokens');
  const rng = new Rng(opts.seed);
  decoder.reset();
  let logits = await decoder.append(prompt);
  for (let i = 0; i < opts.maxNewTokens; i++) {
    const next = sampleToken(logits, opts, rng);
    yield next;
    if (next === opts.stopToken || i === opts.maxNewTokens - 1) return;
    if (decoder.length >= decoder.capacity) return; // the model holds no more positions
    logits = await decoder.append([next]);
  }
}
