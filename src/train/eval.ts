// Perplexity and next-token accuracy of a model on a token stream, with the sliding window of
// Hugging Face's perplexity guide: windows of at most `seqLen` tokens, each starting `stride`
// tokens after the last; a window scores only the predictions no earlier window scored, so with
// stride < seqLen the overlap is context, not scored twice.
//
// A window feeds tokens[begin, end) at positions 0..end-begin-1; the logits at input index p
// predict tokens[p + 1]. Window k scores the predictions of inputs scoreFrom..end-1 (targets
// scoreFrom+1..end), where scoreFrom is the previous window's end. So every target 1..n-1 is
// scored exactly once, from the longest context the windows give it, and stride = seqLen cuts
// the stream into non-overlapping blocks that together score every target.
//
// On Hugging Face's guide (https://huggingface.co/docs/transformers/perplexity): it feeds
// tokens[begin_loc, end_loc) and keeps the last trg_len = end_loc - prev_end_loc labels, but the
// model shifts labels by one inside, so the first window scores trg_len - 1 targets (label 0 has
// no prediction) and every later one trg_len (its first kept label is predicted from context).
// The guide weights each window's mean loss by one count for all windows (trg_len in older
// versions, valid labels minus one per row in newer ones), so one of the two kinds is off by one
// token per window. Here nothing is estimated: each scored target adds its own NLL once, and the
// loss is the sum over targets 1..n-1 divided by n - 1.

import { RhcError } from '../errors.ts';

export interface EvalWindow {
  /** first input token */
  begin: number;
  /** one past the last input token (the last target is tokens[end]) */
  end: number;
  /** first input whose prediction is scored (scoreFrom >= begin) */
  scoreFrom: number;
}

export interface EvalResult {
  /** mean negative log-likelihood (nats) over the scored targets */
  loss: number;
  /** exp(loss) */
  perplexity: number;
  /** fraction of targets that are the argmax of their logits */
  accuracy: number;
  /** targets scored (n - 1) */
  tokens: number;
}

export interface EvalOptions {
  seqLen: number;
  stride: number;
  /** windows run together, at most this many (windows of another length run as their own batch) */
  batchSize: number;
  /** the logits' last axis; when absent, taken from the first forward pass (its length / (batch * seq)) */
  vocab?: number;
  /** called after each batch with the targets scored so far and in all */
  onProgress?: (done: number, total: number) => void;
}

/** Logits [batch, seq, vocab] for ids [batch, seq], each row at positions 0..seq-1. */
export type ForwardFn = (ids: Int32Array, batch: number, seq: number) => Promise<Float32Array>;

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new RhcError(`${name} must be a positive integer, got ${v}`);
}

/** The windows that score targets 1..nTokens-1 once each (see the header). */
export function evalWindows(nTokens: number, seqLen: number, stride: number): EvalWindow[] {
  checkPositiveInt('seq-len', seqLen);
  checkPositiveInt('stride', stride);
  if (stride > seqLen) throw new RhcError(`stride ${stride} is larger than seq-len ${seqLen}: the tokens between windows would never be scored`);
  if (!Number.isSafeInteger(nTokens) || nTokens < 2) throw new RhcError(`evaluation needs at least 2 tokens (one to predict from, one to predict), got ${nTokens}`);
  const last = nTokens - 1; // inputs 0..n-2 predict targets 1..n-1
  const windows: EvalWindow[] = [];
  let prevEnd = 0;
  for (let begin = 0; begin < last; begin += stride) {
    const end = Math.min(begin + seqLen, last);
    windows.push({ begin, end, scoreFrom: prevEnd });
    prevEnd = end;
    if (end === last) break;
  }
  return windows;
}

/** Scores `tokens` with `forward`; NLL and argmax on the host in float64. */
export async function evaluateTokens(forward: ForwardFn, tokens: Int32Array, opts: EvalOptions): Promise<EvalResult> {
  const { seqLen, stride } = opts;
  let vocab = opts.vocab;
  checkPositiveInt('batch-size', opts.batchSize);
  if (vocab !== undefined) checkPositiveInt('vocab', vocab);
  const windows = evalWindows(tokens.length, seqLen, stride);
  const checkTokens = (v: number) => {
    const bad = tokens.findIndex((t) => t < 0 || t >= v);
    if (bad >= 0) throw new RhcError(`token ${tokens[bad]} at index ${bad} is outside the model's vocabulary (vocab_size ${v})`);
  };
  if (vocab !== undefined) checkTokens(vocab);
  const total = tokens.length - 1;
  let nll = 0;
  let correct = 0;
  let scored = 0;
  let i = 0;
  while (i < windows.length) {
    // consecutive windows of one length, at most batchSize of them
    const len = windows[i].end - windows[i].begin;
    let j = i + 1;
    while (j < windows.length && j - i < opts.batchSize && windows[j].end - windows[j].begin === len) j++;
    const batch = windows.slice(i, j);
    const ids = new Int32Array(batch.length * len);
    batch.forEach((w, b) => ids.set(tokens.subarray(w.begin, w.end), b * len));
    const logits = await forward(ids, batch.length, len);
    if (vocab === undefined) {
      vocab = logits.length / (batch.length * len);
      if (!Number.isSafeInteger(vocab) || vocab < 1) throw new RhcError(`the forward pass returned ${logits.length} logits for [${batch.length}, ${len}] tokens, not a whole number per token`);
      checkTokens(vocab);
    }
    const V = vocab;
    if (logits.length !== batch.length * len * V) {
      throw new RhcError(`the forward pass returned ${logits.length} logits for [${batch.length}, ${len}] tokens, expected ${batch.length * len * V} (vocab ${V})`);
    }
    batch.forEach((w, b) => {
      for (let p = w.scoreFrom; p < w.end; p++) {
        const row = (b * len + (p - w.begin)) * V;
        const target = tokens[p + 1];
        let best = 0;
        let max = -Infinity;
        for (let v = 0; v < V; v++) {
          const x = logits[row + v];
          if (x > max) {
            max = x;
            best = v;
          }
        }
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v] - max);
        nll += max + Math.log(sum) - logits[row + target];
        if (best === target) correct++;
        scored++;
      }
    });
    opts.onProgress?.(scored, total);
    i = j;
  }
  const loss = nll / scored;
  return { loss, perplexity: Math.exp(loss), accuracy: correct / scored, tokens: scored };
}

/** evaluateTokens with the vocabulary taken from the logits (the signature the training loop calls). */
export function evaluate(
  forward: ForwardFn,
  tokens: Int32Array,
  opts: { seqLen: number; stride: number; batchSize: number; onProgress?: (done: number, total: number) => void },
): Promise<EvalResult> {
  return evaluateTokens(forward, tokens, opts);
}
