// The sliding-window evaluation: windows derived by hand, and scoring against a forward pass
// whose logits are known, so loss, perplexity and accuracy can be computed here independently.

import { describe, expect, it } from 'vitest';
import { evalWindows, evaluate, evaluateTokens, type ForwardFn } from '../../src/train/eval.ts';

/** The targets each window scores: tokens[scoreFrom+1 .. end]. */
const targetsOf = (ws: { scoreFrom: number; end: number }[]) => ws.flatMap((w) => Array.from({ length: w.end - w.scoreFrom }, (_, k) => w.scoreFrom + 1 + k));

describe('evalWindows', () => {
  it('10 tokens, seq 4, stride 2: overlapping context, every target 1..9 once', () => {
    const ws = evalWindows(10, 4, 2);
    expect(ws).toEqual([
      { begin: 0, end: 4, scoreFrom: 0 }, // inputs 0..3 predict 1..4
      { begin: 2, end: 6, scoreFrom: 4 }, // inputs 2..5; 2,3 are context; predicts 5,6
      { begin: 4, end: 8, scoreFrom: 6 }, // predicts 7,8
      { begin: 6, end: 9, scoreFrom: 8 }, // the last, shorter window: predicts 9
    ]);
    expect(targetsOf(ws)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('stride = seq-len: non-overlapping blocks of inputs, nothing scored twice or skipped', () => {
    const ws = evalWindows(10, 3, 3);
    expect(ws).toEqual([
      { begin: 0, end: 3, scoreFrom: 0 },
      { begin: 3, end: 6, scoreFrom: 3 },
      { begin: 6, end: 9, scoreFrom: 6 },
    ]);
    expect(targetsOf(ws)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ws.every((w) => w.scoreFrom === w.begin)).toBe(true);
  });

  it('a stream shorter than one window is one window; stride 1 slides a token at a time', () => {
    expect(evalWindows(3, 8, 8)).toEqual([{ begin: 0, end: 2, scoreFrom: 0 }]);
    expect(evalWindows(2, 1, 1)).toEqual([{ begin: 0, end: 1, scoreFrom: 0 }]);
    const ws = evalWindows(7, 3, 1);
    expect(ws).toEqual([
      { begin: 0, end: 3, scoreFrom: 0 },
      { begin: 1, end: 4, scoreFrom: 3 },
      { begin: 2, end: 5, scoreFrom: 4 },
      { begin: 3, end: 6, scoreFrom: 5 },
    ]);
    expect(targetsOf(ws)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('every target once, for many shapes', () => {
    for (let n = 2; n < 40; n += 3)
      for (let seq = 1; seq < 12; seq++)
        for (let stride = 1; stride <= seq; stride++) {
          const ws = evalWindows(n, seq, stride);
          expect(targetsOf(ws)).toEqual(Array.from({ length: n - 1 }, (_, k) => k + 1));
          for (const w of ws) {
            expect(w.end - w.begin).toBeLessThanOrEqual(seq);
            expect(w.scoreFrom).toBeGreaterThanOrEqual(w.begin);
          }
        }
  });

  it('refuses what cannot be evaluated', () => {
    expect(() => evalWindows(1, 4, 4)).toThrow(/at least 2 tokens/);
    expect(() => evalWindows(10, 4, 5)).toThrow(/stride 5 is larger than seq-len 4/);
    expect(() => evalWindows(10, 0, 1)).toThrow(/seq-len must be a positive integer/);
  });
});

const VOCAB = 5;

/**
 * Logits that depend only on the input token and its position in the window, so each
 * prediction's value is known here: logit[v] = ((token + 1) * (v + 1) + 3 * pos) % 7 / 2.
 * The calls are recorded.
 */
function knownForward(calls: { batch: number; seq: number; ids: number[] }[]): ForwardFn {
  return async (ids, batch, seq) => {
    calls.push({ batch, seq, ids: Array.from(ids) });
    const out = new Float32Array(batch * seq * VOCAB);
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < seq; p++)
        for (let v = 0; v < VOCAB; v++) out[(b * seq + p) * VOCAB + v] = logit(ids[b * seq + p], p, v);
    return out;
  };
}
const logit = (token: number, pos: number, v: number) => (((token + 1) * (v + 1) + 3 * pos) % 7) / 2;

/** NLL and argmax of target `t` predicted from input token `x` at window position `pos`, by hand. */
function score(x: number, pos: number, t: number): { nll: number; hit: boolean } {
  const row = Array.from({ length: VOCAB }, (_, v) => Math.fround(logit(x, pos, v)));
  const z = row.reduce((s, l) => s + Math.exp(l), 0);
  const best = row.indexOf(Math.max(...row));
  return { nll: Math.log(z) - row[t], hit: best === t };
}

describe('evaluateTokens', () => {
  const tokens = Int32Array.from([3, 1, 4, 1, 0, 2, 4, 3, 2, 0]);

  it('scores each target once, at the position its window puts its input (seq 4, stride 2)', async () => {
    const calls: { batch: number; seq: number; ids: number[] }[] = [];
    const r = await evaluateTokens(knownForward(calls), tokens, { seqLen: 4, stride: 2, batchSize: 8, vocab: VOCAB });
    // windows [0,4) [2,6) [4,8) run together; [6,9) is shorter and runs as its own batch
    expect(calls.map((c) => [c.batch, c.seq])).toEqual([[3, 4], [1, 3]]);
    expect(calls[0].ids).toEqual([3, 1, 4, 1, 4, 1, 0, 2, 0, 2, 4, 3]);
    expect(calls[1].ids).toEqual([4, 3, 2]);
    // target t is predicted from input t-1 at (t-1) - begin of the window that scores it
    const where: [number, number][] = [[1, 0], [2, 1], [3, 2], [4, 3], [5, 2], [6, 3], [7, 2], [8, 3], [9, 2]]; // [target, pos]
    const s = where.map(([t, pos]) => score(tokens[t - 1], pos, tokens[t]));
    const loss = s.reduce((a, x) => a + x.nll, 0) / 9;
    expect(r.tokens).toBe(9);
    expect(r.loss).toBeCloseTo(loss, 12);
    expect(r.perplexity).toBeCloseTo(Math.exp(loss), 10);
    expect(r.accuracy).toBeCloseTo(s.filter((x) => x.hit).length / 9, 12);
  });

  it('stride = seq-len gives the loss of non-overlapping blocks, whatever the batch size', async () => {
    const blocks = [[0, 3], [3, 6], [6, 9]];
    const s = blocks.flatMap(([b, e]) => Array.from({ length: e - b }, (_, k) => score(tokens[b + k], k, tokens[b + k + 1])));
    const loss = s.reduce((a, x) => a + x.nll, 0) / s.length;
    for (const batchSize of [1, 2, 3, 5]) {
      const calls: { batch: number; seq: number; ids: number[] }[] = [];
      const progress: number[] = [];
      const r = await evaluateTokens(knownForward(calls), tokens, { seqLen: 3, stride: 3, batchSize, vocab: VOCAB, onProgress: (done, total) => progress.push(done / total) });
      expect(r.tokens).toBe(9);
      expect(r.loss).toBeCloseTo(loss, 12);
      expect(r.accuracy).toBeCloseTo(s.filter((x) => x.hit).length / 9, 12);
      expect(calls.every((c) => c.batch <= batchSize)).toBe(true);
      expect(calls.reduce((n, c) => n + c.batch, 0)).toBe(3);
      expect(progress.at(-1)).toBe(1);
    }
  });

  it('a forward that always puts the target on top has accuracy 1, and log-sum-exp is stable for huge logits', async () => {
    // tokens 0,1,2,3,4: the target of input x is x + 1
    const forward: ForwardFn = async (ids, batch, seq) => {
      const out = new Float32Array(batch * seq * VOCAB).fill(1e4);
      for (let r = 0; r < batch * seq; r++) out[r * VOCAB + ids[r] + 1] = 1e4 + 2;
      return out;
    };
    const r = await evaluateTokens(forward, Int32Array.from([0, 1, 2, 3, 4]), { seqLen: 2, stride: 2, batchSize: 4, vocab: VOCAB });
    expect(r.accuracy).toBe(1);
    // p(target) = e^2 / (e^2 + 4); exp(1e4) alone would overflow
    expect(r.loss).toBeCloseTo(-Math.log(Math.exp(2) / (Math.exp(2) + 4)), 12);
  });

  it('refuses a token outside the vocabulary and logits of the wrong size', async () => {
    await expect(evaluateTokens(knownForward([]), Int32Array.from([1, 7]), { seqLen: 2, stride: 2, batchSize: 1, vocab: VOCAB })).rejects.toThrow(/token 7 at index 1 is outside the model's vocabulary \(vocab_size 5\)/);
    await expect(evaluateTokens(async () => new Float32Array(3), Int32Array.from([1, 2]), { seqLen: 2, stride: 2, batchSize: 1, vocab: VOCAB })).rejects.toThrow(/returned 3 logits/);
  });

  it('evaluate (the training loop\'s signature) takes the vocabulary from the logits and gives the same result', async () => {
    const opts = { seqLen: 4, stride: 2, batchSize: 2 };
    const want = await evaluateTokens(knownForward([]), tokens, { ...opts, vocab: VOCAB });
    expect(await evaluate(knownForward([]), tokens, opts)).toEqual(want);
    await expect(evaluate(knownForward([]), Int32Array.from([1, 7, 2]), opts)).rejects.toThrow(/token 7 at index 1 is outside the model's vocabulary \(vocab_size 5\)/);
    await expect(evaluate(async () => new Float32Array(7), Int32Array.from([1, 2, 3]), opts)).rejects.toThrow(/not a whole number per token/);
  });
});
