// What every runner measures, the same way whatever runs the model (rhc or onnxruntime, in Node
// or in the page): a prefill of N tokens with every position's logits read back, rhc's time to
// first token (a decoder's prompt, only the last row read back), and one decode step at each
// context. Browser-safe: the page runs this file too.

import { benchIds } from '../ids.ts';
import { measure, type Repeats, type Sample } from '../stats.ts';

export interface DecodeSession {
  /** tokens in the cache */
  readonly length: number;
  /** brings `ids` into the cache (untimed: rhc runs them as a prompt, onnxruntime feeds a zero past) */
  fill(ids: Int32Array): Promise<void>;
  /** appends one token and reads its logits back */
  step(id: number): Promise<void>;
  dispose(): Promise<void> | void;
}

export interface Engine {
  /** logits of every position of `ids` [1, N] computed and read back; returns the last row */
  prefill(ids: Int32Array): Promise<Float32Array>;
  /** a decoder's prompt: only the last position's logits read back (generate's first token) */
  firstToken?(ids: Int32Array): Promise<Float32Array>;
  decoder(): Promise<DecodeSession>;
  dispose(): Promise<void> | void;
}

export interface Workload {
  vocab: number;
  prefillTokens: number;
  /** ascending; each must leave room for the previous one's steps */
  contexts: number[];
  repeats: Repeats;
  /** skip the decode measurements (prefill only) */
  noDecode?: boolean;
}

export interface EngineResult {
  prefill: Sample;
  firstToken?: Sample;
  decode: { context: number; sample: Sample }[];
  /** the last position's logits of the prefill, to check the runners agree */
  lastLogits: number[];
}

/**
 * Decode at context c: the cache is filled to c tokens, then warm-up and timed steps each append
 * one token, so the timed steps run at contexts c + warmup .. c + warmup + repeats - 1.
 */
export async function runWorkload(engine: Engine, w: Workload): Promise<EngineResult> {
  const prompt = benchIds(w.prefillTokens, w.vocab, 1);
  let last: Float32Array = new Float32Array(0);
  const prefill = await measure(async () => (last = await engine.prefill(prompt)), w.repeats);
  const firstToken = engine.firstToken ? await measure(() => engine.firstToken!(prompt), w.repeats) : undefined;
  const decode: EngineResult['decode'] = [];
  if (!w.noDecode) {
    const stream = benchIds(Math.max(...w.contexts) + w.repeats.warmup + w.repeats.repeats + 1, w.vocab, 2);
    const session = await engine.decoder();
    try {
      for (const context of w.contexts) {
        if (session.length > context) throw new Error(`decode contexts ${w.contexts.join(', ')} overlap: ${session.length} tokens are cached before context ${context}`);
        if (context > session.length) await session.fill(stream.subarray(session.length, context));
        const sample = await measure(() => session.step(stream[session.length]), w.repeats);
        decode.push({ context, sample });
      }
    } finally {
      await session.dispose();
    }
  }
  return { prefill, ...(firstToken ? { firstToken } : {}), decode, lastLogits: Array.from(last) };
}
