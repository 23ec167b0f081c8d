// rhc eval as a user runs it, on a tiny checkpoint and a .npy token file written here; the cpu
// result is checked against windows scored in this test with the reference interpreter.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, saveModel } from '../../src/model/model.ts';
import { cpuBackend } from '../../src/runtime/backends.ts';
import { encode } from '../../src/io/tokenizer.ts';
import { ROOT, rhc, tempDir } from '../helpers/rh.ts';

const DIMS = { n_layer: 1, n_embd: 16, n_head: 2, vocab_size: 40, n_positions: 16 };
const overrides = Object.entries(DIMS).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));

/** A 1-D int32 .npy, byte by byte (format 1.0: magic, version, header length, header padded to 64). */
function writeInt32Npy(file: string, ids: number[]): void {
  let header = `{'descr': '<i4', 'fortran_order': False, 'shape': (${ids.length},), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(4 * ids.length);
  ids.forEach((v, i) => data.writeInt32LE(v, 4 * i));
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), data]));
}

let dir: string;
let ckpt: string;
let data: string;
const model = initModel(path.join(ROOT, 'spec', 'lr-norm.rh'), { seed: 5, overrides });
// 23 tokens: windows of 8 every 3 tokens overlap, and the last is shorter
const tokensNpy = Array.from({ length: 23 }, (_, i) => (i * 7 + (i % 3) * 11) % DIMS.vocab_size);

beforeAll(() => {
  dir = tempDir();
  ckpt = path.join(dir, 'ckpt');
  data = path.join(dir, 'tokens.npy');
  saveModel(model, ckpt);
  writeInt32Npy(data, tokensNpy);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Loss and accuracy scored here: each target t once, from the window HF's guide gives it. */
async function direct(seqLen: number, stride: number, m = model, tokens = tokensNpy, vocab = DIMS.vocab_size) {
  const cpu = cpuBackend();
  const n = tokens.length;
  let nll = 0;
  let hits = 0;
  let count = 0;
  let prevEnd = 0;
  for (let begin = 0; prevEnd < n - 1; begin += stride) {
    const end = Math.min(begin + seqLen, n - 1);
    const ids = Int32Array.from(tokens.slice(begin, end));
    const logits = await cpu.forward({ graph: m.graph, weights: m.weights, ids, batch: 1, seq: ids.length });
    for (let p = prevEnd; p < end; p++) {
      const row = Array.from(logits.subarray((p - begin) * vocab, (p - begin + 1) * vocab));
      const max = row.reduce((a, x) => (x > a ? x : a), -Infinity);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      nll += lse - row[tokens[p + 1]];
      if (row.indexOf(max) === tokens[p + 1]) hits++;
      count++;
    }
    prevEnd = end;
  }
  return { loss: nll / count, accuracy: hits / count, tokens: count };
}

describe('rhc eval', () => {
  it('--json on cpu equals the windows scored with the interpreter here (seq 8, stride 3, batched)', async () => {
    const r = rhc(['eval', ckpt, '--data', data, '--seq-len', '8', '--stride', '3', '--batch-size', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const want = await direct(8, 3);
    expect(out.tokens).toBe(22);
    expect(want.tokens).toBe(22);
    expect(out.seq_len).toBe(8);
    expect(out.stride).toBe(3);
    expect(out.loss).toBeCloseTo(want.loss, 6);
    expect(out.perplexity).toBeCloseTo(Math.exp(want.loss), 5);
    expect(out.accuracy).toBeCloseTo(want.accuracy, 12);
    // an untrained model of 40 tokens is near uniform
    expect(out.perplexity).toBeGreaterThan(20);
  });

  it('onnx and webgpu (one compiled model for every batch) give the cpu numbers', () => {
    const args = ['eval', ckpt, '--data', data, '--seq-len', '8', '--stride', '3', '--batch-size', '3', '--json'];
    const cpu = JSON.parse(rhc(args).stdout);
    for (const backend of ['onnx', 'webgpu']) {
      const r = rhc([...args, '--backend', backend]);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.backend).toBe(backend);
      expect(out.tokens).toBe(cpu.tokens);
      expect(Math.abs(out.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-5);
      expect(Math.abs(out.accuracy - cpu.accuracy)).toBeLessThanOrEqual(1 / 22 + 1e-12); // a near tie may flip one argmax
    }
  });

  it('defaults to windows of n_positions, stride = seq-len, and prints a table', async () => {
    const r = rhc(['eval', ckpt, '--data', data]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('seq-len 16, stride 16, 2 windows');
    const want = await direct(16, 16);
    const row = (k: string) => Number(new RegExp(`^\\s+${k}\\s+([\\d.,]+)$`, 'm').exec(r.stdout)?.[1].replace(/,/g, ''));
    expect(row('tokens scored')).toBe(22);
    expect(row('loss')).toBeCloseTo(want.loss, 4);
    expect(row('perplexity')).toBeCloseTo(Math.exp(want.loss), 2);
    expect(row('accuracy')).toBeCloseTo(want.accuracy, 4);
  });

  it('fails clearly on a missing data file, a bad stride, a window past n_positions, a token outside the vocabulary', () => {
    const missing = rhc(['eval', ckpt, '--data', path.join(dir, 'nope.npy')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.npy/);
    expect(missing.stderr).toMatch(/not found|no such file|does not exist/i);

    const stride = rhc(['eval', ckpt, '--data', data, '--seq-len', '4', '--stride', '5']);
    expect(stride.status).toBe(2);
    expect(stride.stderr).toContain('--stride must be 1..4');

    const long = rhc(['eval', ckpt, '--data', data, '--seq-len', '17']);
    expect(long.status).toBe(2);
    expect(long.stderr).toContain("--seq-len must be 1..16 (the model's n_positions)");

    const big = path.join(dir, 'big.npy');
    writeInt32Npy(big, [1, 2, 45]);
    const vocab = rhc(['eval', ckpt, '--data', big]);
    expect(vocab.status).toBe(1);
    expect(vocab.stderr).toContain("big.npy: token 45 at index 2 is outside the model's vocabulary (vocab_size 40)");
  });

  it('a text file: GPT-2 BPE line by line (blank lines skipped), the ids cached; cpu equals the interpreter on those ids', async () => {
    // the whole GPT-2 vocabulary, at toy width
    const dims = { n_layer: 1, n_embd: 8, n_head: 2, vocab_size: 50257, n_positions: 16 };
    const big = initModel(path.join(ROOT, 'spec', 'gp-norm.rh'), { seed: 3, overrides: Object.entries(dims).map(([name, value]) => ({ name, value, origin: '--set', strict: true })) });
    const bigDir = path.join(dir, 'ckpt-bpe');
    saveModel(big, bigDir);
    const lines = [' = Homarus gammarus = \n', ' \n', ' Homarus gammarus , known as the European lobster or common lobster , is a species of clawed lobster . \n'];
    const text = path.join(dir, 'wiki.tiny.tokens');
    fs.writeFileSync(text, lines.join(''));
    const ids = [...encode(lines[0]), ...encode(lines[2])];
    const cache = path.join(dir, 'cache');
    const args = ['eval', bigDir, '--data', text, '--seq-len', '12', '--stride', '5', '--batch-size', '2', '--cache-dir', cache, '--json'];
    const r = rhc(args);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const want = await direct(12, 5, big, ids, dims.vocab_size);
    expect(out.tokens).toBe(ids.length - 1);
    expect(want.tokens).toBe(ids.length - 1);
    expect(out.loss).toBeCloseTo(want.loss, 6);
    expect(out.accuracy).toBeCloseTo(want.accuracy, 12);
    expect(out.perplexity).toBeGreaterThan(1000); // untrained, 50257 choices
    // the ids were cached; a second run reads them and agrees
    expect(fs.readdirSync(cache).filter((f) => f.endsWith('.npy'))).toHaveLength(1);
    expect(JSON.parse(rhc(args).stdout).loss).toBe(out.loss);
  });
});
