// Training data formats and blocks: each format gives the ids expected of it (text through
// GPT-2's BPE line by line, as Hugging Face's WikiText rows; parquet's text column likewise;
// .bin uint16; .npy int32/int64), blocks are cut as run_clm.py's group_texts cuts them (the
// remainder dropped), the shuffle is a seeded permutation per epoch, and the tokenised cache is
// reused while its source is unchanged and re-made when it changes.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { BlockSampler, cacheFileFor, loadTokens } from '../../src/train/data.ts';
import { encode } from '../../src/io/tokenizer.ts';
import { tempDir } from '../helpers/rh.ts';

const dir = tempDir();

/** A .npy written here byte by byte (format 1.0, as numpy.save lays it out). */
function npy(descr: string, values: (number | bigint)[], shape = `(${values.length},)`): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.from([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0, header.length & 0xff, header.length >> 8]);
  const width = descr.endsWith('8') ? 8 : 4;
  const data = Buffer.alloc(width * values.length);
  values.forEach((v, i) => (width === 4 ? data.writeInt32LE(Number(v), 4 * i) : data.writeBigInt64LE(BigInt(v), 8 * i)));
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

const write = (name: string, data: string | Uint8Array) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
};

describe('loadTokens: formats', () => {
  // WikiText as the file has it: a blank line is " \n"; Hugging Face's rows keep each line's
  // newline and make the blank lines "" (the wikitext builder's `row if row.strip() else ""`).
  const fileLines = [' \n', ' = Valkyria Chronicles III = \n', ' \n', ' Senjō no Valkyria 3 : <unk> Chronicles . \n', ' \n'];
  const rows = fileLines.map((l) => (l.trim() === '' ? '' : l));
  const want = [...encode(fileLines[1]), ...encode(fileLines[3])];

  it('text: each line with its newline through GPT-2 BPE, whitespace-only lines skipped, concatenated', async () => {
    const file = write('wiki.tiny.tokens', fileLines.join(''));
    const { tokens, source } = await loadTokens(file);
    expect(source).toBe(file);
    expect(Array.from(tokens)).toEqual(want);
    // not the whole file as one string: the lines' ids are concatenated, the blank lines add nothing
    expect(want).toContain(198); // "\n" is a token of its own after " =" and " ."
  });

  it('text: \\r\\n and \\r end lines as \\n does (Python universal newlines); a last line without newline counts', async () => {
    const file = write('crlf.txt', 'Hello world\r\n\r\nsecond line\rthird');
    expect(Array.from((await loadTokens(file)).tokens)).toEqual([...encode('Hello world\n'), ...encode('second line\n'), ...encode('third')]);
  });

  it('text: a file larger than a read chunk (8 MiB), a character split across the chunk boundary', async () => {
    // 154-byte lines: the 8 MiB boundary falls 74 bytes into line 54471, between the two bytes of an "é"
    const line = 'xyz' + ' é'.repeat(50) + '\n';
    expect(Buffer.byteLength(line)).toBe(154);
    expect(Buffer.from(line).subarray(73, 75)).toEqual(Buffer.from('é'));
    const count = 56_000;
    const file = write('long.txt', line.repeat(count) + 'end');
    const per = encode(line);
    const tokens = (await loadTokens(file)).tokens;
    expect(tokens.length).toBe(per.length * count + encode('end').length);
    const want = new Int32Array(tokens.length);
    for (let i = 0; i < count; i++) want.set(per, i * per.length);
    want.set(encode('end'), count * per.length);
    expect(tokens.findIndex((v, i) => v !== want[i])).toBe(-1); // (toEqual on 3M elements takes seconds)
  }, 30_000);

  it('parquet: the text column, row by row, gives what the WikiText file gives', async () => {
    const file = write('train-00000-of-00001.parquet', Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: rows, type: 'STRING' }], rowGroupSize: 2 })));
    expect(Array.from((await loadTokens(file)).tokens)).toEqual(want);
  });

  it('parquet: no text column, or not parquet at all, is a clear error naming the file', async () => {
    const other = write('other.parquet', Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'sentence', data: ['a', 'b'], type: 'STRING' }] })));
    await expect(loadTokens(other)).rejects.toThrow(/other\.parquet: no column 'text'.*columns: sentence/);
    const junk = write('junk.parquet', 'not parquet at all');
    await expect(loadTokens(junk)).rejects.toThrow(/junk\.parquet: not a readable parquet file/);
  });

  it('.bin uint16, .npy int32 and int64 (any shape, flattened)', async () => {
    const ids = [0, 1, 50256, 15496, 995, 50255];
    const bin = Buffer.alloc(2 * ids.length);
    ids.forEach((v, i) => bin.writeUInt16LE(v, 2 * i));
    write('a.bin', bin);
    write('a.npy', npy('<i4', ids));
    write('b.npy', npy('<i8', ids));
    write('c.npy', npy('<i4', ids, '(2, 3)'));
    for (const f of ['a.bin', 'a.npy', 'b.npy', 'c.npy']) expect(Array.from((await loadTokens(path.join(dir, f))).tokens), f).toEqual(ids);
  });

  it('token files: ids outside the vocabulary, other dtypes and odd sizes are refused, naming the file', async () => {
    await expect(loadTokens(write('bad.npy', npy('<i4', [3, 60000])))).rejects.toThrow(/bad\.npy: token 60000 at index 1 is outside the GPT-2 vocabulary/);
    await expect(loadTokens(write('big.npy', npy('<i8', [3n, 2n ** 40n])))).rejects.toThrow(/big\.npy: token 1099511627776 at index 1/);
    await expect(loadTokens(write('f.npy', npy('<f4', [1, 2])))).rejects.toThrow(/f\.npy: token ids must be int32 or int64.*'<f4'/);
    await expect(loadTokens(write('odd.bin', Buffer.alloc(5)))).rejects.toThrow(/odd\.bin: .*uint16.*5 bytes/);
    await expect(loadTokens(write('short.npy', npy('<i4', [1, 2]).subarray(0, 130)))).rejects.toThrow(/short\.npy: the header promises 2 ids/);
    await expect(loadTokens(path.join(dir, 'missing.txt'))).rejects.toThrow(/cannot read data file .*missing\.txt: no such file/);
    await expect(loadTokens(dir)).rejects.toThrow(/it is a directory/);
  });
});

describe('loadTokens: the cache', () => {
  it('writes the ids as an int32 .npy, reuses it while the source is unchanged, re-makes it when the source changes', async () => {
    const file = write('c.txt', 'Hello world\n');
    const cache = path.join(dir, 'cache');
    expect(Array.from((await loadTokens(file, { cacheDir: cache })).tokens)).toEqual(encode('Hello world\n'));
    const entry = cacheFileFor(cache, file);
    expect(fs.readdirSync(cache)).toEqual([path.basename(entry)]); // nothing else (no temporary files) left
    expect(Array.from((await loadTokens(entry)).tokens)).toEqual(encode('Hello world\n')); // the cache is itself a token file

    // a valid cache is trusted while the source's path, size and mtime are the same: prove it is read
    fs.writeFileSync(entry, npy('<i4', [7, 8, 9]));
    expect(Array.from((await loadTokens(file, { cacheDir: cache })).tokens)).toEqual([7, 8, 9]);

    // another mtime (or size) is another key: tokenised again
    fs.writeFileSync(file, 'Hello there world\n');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const next = cacheFileFor(cache, file);
    expect(next).not.toBe(entry);
    expect(Array.from((await loadTokens(file, { cacheDir: cache })).tokens)).toEqual(encode('Hello there world\n'));
    expect(fs.existsSync(next)).toBe(true);

    // a damaged cache is not an error: it is re-made
    fs.writeFileSync(next, 'garbage');
    expect(Array.from((await loadTokens(file, { cacheDir: cache })).tokens)).toEqual(encode('Hello there world\n'));
    expect(Array.from((await loadTokens(next)).tokens)).toEqual(encode('Hello there world\n'));
  });

  it('token files are not cached; an unwritable cache directory is a clear error', async () => {
    const cache = path.join(dir, 'cache-bin');
    const bin = write('t.bin', Buffer.from(Uint16Array.of(5, 6).buffer));
    expect(Array.from((await loadTokens(bin, { cacheDir: cache })).tokens)).toEqual([5, 6]);
    expect(fs.existsSync(cache)).toBe(false);
    const blocker = write('a-file', 'x');
    await expect(loadTokens(write('d.txt', 'hi\n'), { cacheDir: path.join(blocker, 'sub') })).rejects.toThrow(/cannot write token cache directory .*a-file/);
  });
});

describe('BlockSampler', () => {
  const tokens = Int32Array.from({ length: 23 }, (_, i) => 100 + i);

  it('cuts floor(n / seq) blocks, the remainder dropped, in file order without shuffle', () => {
    // 23 tokens, seq 5: blocks [100..104] [105..109] [110..114] [115..119]; 120..122 dropped
    const s = new BlockSampler(tokens, 5, { seed: 1, shuffle: false });
    expect(s.blocks).toBe(4);
    expect(Array.from(s.order(0))).toEqual([0, 1, 2, 3]);
    expect(Array.from(s.order(3))).toEqual([0, 1, 2, 3]);
    expect(Array.from(s.batch(0, 1, 2))).toEqual([105, 106, 107, 108, 109, 110, 111, 112, 113, 114]);
    expect(Array.from(s.batch(7, 3, 1))).toEqual([115, 116, 117, 118, 119]);
    expect(() => s.batch(0, 3, 2)).toThrow(RangeError);
    // exactly one block: still a block
    expect(new BlockSampler(tokens, 23, { seed: 1, shuffle: true }).blocks).toBe(1);
  });

  it('shuffles per epoch: a permutation, the same for the same seed and epoch, another for another epoch or seed', () => {
    const ids = Int32Array.from({ length: 403 }, (_, i) => i);
    const make = (seed: number) => new BlockSampler(ids, 4, { seed, shuffle: true });
    const s = make(42);
    expect(s.blocks).toBe(100);
    const e0 = Array.from(s.order(0));
    expect([...e0].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(e0).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    const e1 = Array.from(s.order(1));
    expect(e1).not.toEqual(e0);
    expect([...e1].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // epoch 0 again, after epoch 1, and from a fresh sampler: the same order (no hidden state)
    expect(Array.from(s.order(0))).toEqual(e0);
    expect(Array.from(make(42).order(0))).toEqual(e0);
    expect(Array.from(make(42).order(1))).toEqual(e1);
    expect(Array.from(make(43).order(0))).not.toEqual(e0);
    // a batch follows the order: row r is block order[first + r]
    const b = s.batch(1, 10, 3);
    for (let r = 0; r < 3; r++) expect(Array.from(b.subarray(4 * r, 4 * r + 4))).toEqual([0, 1, 2, 3].map((k) => 4 * e1[10 + r] + k));
  });

  it('refuses data shorter than one block, naming it', () => {
    expect(() => new BlockSampler(tokens, 24, { seed: 1, shuffle: true, source: 'wiki.tiny.tokens' })).toThrow(/wiki\.tiny\.tokens has 23 tokens, fewer than one block of 24/);
    expect(() => new BlockSampler(new Int32Array(0), 4, { seed: 1, shuffle: false })).toThrow(/the data has 0 tokens, fewer than one block of 4/);
    expect(() => new BlockSampler(tokens, 0, { seed: 1, shuffle: false })).toThrow(/seq-len must be a positive integer/);
  });
});
