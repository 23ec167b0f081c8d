// Training data: a file of text or tokens, as one stream of GPT-2 token ids, cut into blocks.
//
// - Text (`wiki.*.tokens`, `wiki.*.raw`, `.txt`, anything not below): tokenised line by line,
//   each line with its newline, as run_clm.py tokenises the rows of WikiText's parquet shards
//   (whose rows are the file's lines, newline kept), so a text file and its parquet shard give
//   the same ids. Hugging Face's `text` loader would drop the newlines (keep_linebreaks=False);
//   keeping them keeps paragraph structure, which the parquet form has.
// - Parquet (`.parquet`): the `text` column, row by row, as above.
// - Token files: `.bin` of little-endian uint16 (nanoGPT's format), `.npy` of int32 or int64.
//
// Tokenising is slow (seconds per MB), so the ids of a text or parquet file are cached as raw
// int32 under the cache directory, keyed by the file's path, size and mtime and the tokenizer.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import { RhcError } from '../errors.ts';
import { openRegularFile, readRegularFile, writeFileAtomic, writingFiles } from '../io/files.ts';
import { encode, VOCAB_SIZE } from '../io/tokenizer.ts';
import { Rng } from '../io/rng.ts';

/** Bumped when the tokenisation changes, so old caches are not reused. */
const TOKENIZER_KEY = 'gpt2-bpe/lines-with-newlines/v1';
const MAX_TEXT_BYTES = 2 ** 31;

export interface TokenData {
  tokens: Int32Array;
  source: string;
}

function checkIds(ids: Int32Array, file: string): Int32Array {
  const bad = ids.findIndex((v) => v < 0 || v >= VOCAB_SIZE);
  if (bad >= 0) throw new RhcError(`${file}: token ${ids[bad]} at index ${bad} is outside the GPT-2 vocabulary [0, ${VOCAB_SIZE})`);
  return ids;
}

function readBin(file: string): Int32Array {
  const bytes = readRegularFile(file, { maxBytes: MAX_TEXT_BYTES, what: 'token file' });
  if (bytes.length % 2 !== 0) throw new RhcError(`${file}: a .bin token file holds uint16 ids (2 bytes each), but it has ${bytes.length} bytes`);
  const ids = new Int32Array(bytes.length / 2);
  for (let i = 0; i < ids.length; i++) ids[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return checkIds(ids, file);
}

/** A 1-D (or any C-order) .npy of int32 or int64 token ids. */
function readIntNpy(file: string): Int32Array {
  const bytes = readRegularFile(file, { maxBytes: MAX_TEXT_BYTES, what: '.npy token file' });
  const fail = (why: string): never => {
    throw new RhcError(`${file}: ${why}`);
  };
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') fail('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  const headerLen = major === 1 ? bytes[8] | (bytes[9] << 8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<i4' && descr !== '<i8') fail(`token ids must be int32 or int64 ('<i4' or '<i8'), this array is '${descr}'`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported; save it in C order');
  const count = (shape ?? '').split(',').map((s) => s.trim()).filter(Boolean).reduce((a, d) => a * Number(d), 1);
  const data = bytes.subarray(start + headerLen);
  const width = descr === '<i4' ? 4 : 8;
  if (data.length !== count * width) fail(`the header promises ${count} ids (${count * width} bytes), the file holds ${data.length} bytes of data`);
  const ids = new Int32Array(count);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < count; i++) {
    const v = width === 4 ? view.getInt32(4 * i, true) : Number(view.getBigInt64(8 * i, true));
    ids[i] = v >= -1 && v < 2 ** 31 ? v : -1;
  }
  return checkIds(ids, file);
}

async function parquetLines(file: string): Promise<string[]> {
  const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), columns: ['text'], compressors });
  if (rows.length > 0 && typeof rows[0].text !== 'string') throw new RhcError(`${file}: expected a string column 'text' (as WikiText's parquet shards have)`);
  return rows.map((r) => r.text as string);
}

function textLines(file: string): string[] {
  const text = readRegularFile(file, { maxBytes: MAX_TEXT_BYTES, what: 'text file' }).toString('utf8');
  const lines = text.split(/(?<=\n)/);
  return lines.filter((l) => l.length > 0);
}

function tokenise(lines: readonly string[], file: string, progress: boolean): Int32Array {
  const total = lines.reduce((n, l) => n + l.length, 0);
  const bar = progress && process.stderr.isTTY ? new SingleBar({ format: `tokenising ${path.basename(file)} {bar} {percentage}% | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true }) : undefined;
  if (progress && !bar) process.stderr.write(`tokenising ${file} (${total.toLocaleString('en-US')} characters; cached afterwards)\n`);
  bar?.start(total, 0);
  const out: number[] = [];
  let done = 0;
  for (const line of lines) {
    for (const id of encode(line)) out.push(id);
    done += line.length;
    if (bar && out.length % 64 === 0) bar.update(done);
  }
  bar?.update(total);
  bar?.stop();
  return Int32Array.from(out);
}

function cacheFile(cacheDir: string, file: string): string {
  const st = fs.statSync(file);
  const key = crypto.createHash('sha256').update(JSON.stringify([path.resolve(file), st.size, st.mtimeMs, TOKENIZER_KEY])).digest('hex').slice(0, 16);
  return path.join(cacheDir, `${path.basename(file)}.${key}.i32`);
}

/** The token ids of a data file (see the header for the formats). */
export async function loadTokens(file: string, opts: { cacheDir?: string; progress?: boolean } = {}): Promise<TokenData> {
  const { fd } = openRegularFile(file, 'data file'); // a clear error for a missing file, a directory, a FIFO
  fs.closeSync(fd);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.bin') return { tokens: readBin(file), source: file };
  if (ext === '.npy') return { tokens: readIntNpy(file), source: file };
  const cached = opts.cacheDir ? cacheFile(opts.cacheDir, file) : undefined;
  if (cached && fs.existsSync(cached)) {
    const bytes = fs.readFileSync(cached);
    if (bytes.length % 4 === 0) return { tokens: new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)), source: file };
  }
  const lines = ext === '.parquet' ? await parquetLines(file) : textLines(file);
  const tokens = tokenise(lines, file, opts.progress ?? false);
  if (cached) {
    writingFiles(opts.cacheDir!, () => fs.mkdirSync(opts.cacheDir!, { recursive: true }));
    writeFileAtomic(cached, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
  }
  return { tokens, source: file };
}

/**
 * Blocks of `seqLen` consecutive tokens, as run_clm.py's group_texts cuts the concatenated
 * text (the remainder dropped), in an order per epoch: a Fisher-Yates shuffle seeded by
 * (seed, epoch), or file order.
 */
export class BlockSampler {
  readonly blocks: number;
  private readonly orders = new Map<number, Uint32Array>();

  constructor(
    private readonly tokens: Int32Array,
    private readonly seqLen: number,
    private readonly opts: { seed: number; shuffle: boolean; source?: string },
  ) {
    this.blocks = Math.floor(tokens.length / seqLen);
    if (this.blocks < 1) throw new RhcError(`${opts.source ?? 'the data'} has ${tokens.length} tokens, fewer than one block of ${seqLen} (--seq-len)`);
  }

  order(epoch: number): Uint32Array {
    let order = this.orders.get(epoch);
    if (order) return order;
    order = Uint32Array.from({ length: this.blocks }, (_, i) => i);
    if (this.opts.shuffle) {
      // One stream per (seed, epoch): epoch e's order does not depend on how many were drawn before.
      const rng = new Rng(this.opts.seed * 100_003 + epoch);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    this.orders.clear(); // one epoch at a time is all a run needs
    this.orders.set(epoch, order);
    return order;
  }

  /** Blocks order(epoch)[first .. first+count) as [count, seqLen] ids. */
  batch(epoch: number, first: number, count: number): Int32Array {
    const order = this.order(epoch);
    if (first < 0 || first + count > this.blocks) throw new RangeError(`blocks ${first}..${first + count - 1} of ${this.blocks}`);
    const out = new Int32Array(count * this.seqLen);
    for (let r = 0; r < count; r++) {
      const b = order[first + r];
      out.set(this.tokens.subarray(b * this.seqLen, (b + 1) * this.seqLen), r * this.seqLen);
    }
    return out;
  }
}
