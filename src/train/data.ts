// Training data: a file of text or tokens, as one stream of GPT-2 token ids, cut into blocks.
//
// What run_clm.py does with WikiText-103-raw-v1, and so what rhc does:
// - It tokenises the dataset row by row and concatenates the rows' ids. A row of Hugging Face's
//   WikiText is one line of the original file WITH its newline (" = Valkyria Chronicles III = \n"),
//   except that a line of whitespace only (the files' " \n" between paragraphs) is the empty row
//   "": the wikitext builder yields `row if row.strip() else ""`, and the parquet shards were made
//   by it. So for a text file (`wiki.*.tokens`, `wiki.*.raw`, `.txt`, anything not listed below)
//   rhc tokenises each line with its newline and skips whitespace-only lines: a WikiText file and
//   its parquet shard give the same ids. Lines end as Python's universal newlines end them (\n,
//   \r\n or \r, each read as \n), since the builder reads the file in text mode. (HF's generic
//   `text` loader would instead drop every newline, keep_linebreaks=False; keeping them keeps the
//   paragraph structure the parquet has.)
// - Parquet (`.parquet`): the string column `text`, each row tokenised as it is.
// - Token files, read as they are: `.bin` of little-endian uint16 (nanoGPT's format), `.npy` of
//   int32 or int64 (C order, any shape, flattened).
// - group_texts cuts the concatenation into blocks of block_size, dropping the remainder
//   (BlockSampler below).
//
// Tokenising costs about half a second per MB here (WikiText-103's 540 MB train split: minutes),
// so the ids of a text or parquet file are cached under the caller's cache directory as an int32
// .npy (itself a valid --data file), keyed by the source's absolute path, size and mtime and by
// the tokenisation, and written atomically. A cache file that does not decode is re-made.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import { RhcError } from '../errors.ts';
import { formatBytes, fsReason, openRegularFile, readRegularFile, writeAll, writeFileAtomic, writingFiles } from '../io/files.ts';
import { encode, VOCAB_SIZE } from '../io/tokenizer.ts';
import { Rng } from '../io/rng.ts';

/** Names the tokenisation in the cache key: change it when the ids a text gives change. */
const TOKENIZER_KEY = 'gpt2-bpe-r50k/rows-with-newline/blank-lines-empty/v2';
/** The largest token file read at once (2 GiB: 1 Gi uint16 ids or 512 Mi int32 ones). */
const MAX_TOKEN_FILE_BYTES = 2 ** 31;
/** Text is read in chunks of this size (a whole WikiText-103 would be one string past V8's limit). */
const TEXT_CHUNK_BYTES = 8 * 2 ** 20;
/** Parquet rows are read this many at a time. */
const PARQUET_ROWS = 50_000;

export interface TokenData {
  tokens: Int32Array;
  /** the file the ids came from (not the cache) */
  source: string;
}

/** A growable int32 array. */
class Ids {
  private buf = new Int32Array(1 << 16);
  length = 0;
  push(ids: readonly number[]): void {
    if (this.length + ids.length > this.buf.length) {
      const next = new Int32Array(Math.max(this.buf.length * 2, this.length + ids.length));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    for (let i = 0; i < ids.length; i++) this.buf[this.length + i] = ids[i];
    this.length += ids.length;
  }
  done(): Int32Array {
    return this.buf.slice(0, this.length);
  }
}

function checkIds(ids: Int32Array, file: string, raw?: (i: number) => number | bigint): Int32Array {
  const bad = ids.findIndex((v) => v < 0 || v >= VOCAB_SIZE);
  if (bad >= 0) throw new RhcError(`${file}: token ${raw ? raw(bad) : ids[bad]} at index ${bad} is outside the GPT-2 vocabulary [0, ${VOCAB_SIZE})`);
  return ids;
}

function readBin(file: string): Int32Array {
  const bytes = readRegularFile(file, { maxBytes: MAX_TOKEN_FILE_BYTES, what: '.bin token file' });
  if (bytes.length % 2 !== 0) throw new RhcError(`${file}: a .bin token file holds uint16 ids (2 bytes each), but it has ${bytes.length} bytes`);
  const ids = new Int32Array(bytes.length / 2);
  for (let i = 0; i < ids.length; i++) ids[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return checkIds(ids, file);
}

/** Token ids from .npy bytes of int32 or int64 (versions 1-3, C order; the shape is flattened). */
function decodeIntNpy(bytes: Uint8Array, file: string): Int32Array {
  const fail = (why: string): never => {
    throw new RhcError(`${file}: ${why}`);
  };
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') fail('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) fail('truncated inside the header length');
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (start + headerLen > bytes.length) fail(`the header (${headerLen} bytes) reaches beyond the end of the file`);
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`malformed .npy header ${JSON.stringify(header.trim())}`);
  if (descr !== '<i4' && descr !== '<i8') fail(`token ids must be int32 or int64 ('<i4' or '<i8'), this array is '${descr}'`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported; save it in C order');
  const dims = shapeText!.split(',').map((s) => s.trim()).filter(Boolean);
  if (!dims.every((d) => /^\d+$/.test(d))) fail(`malformed shape (${shapeText})`);
  const count = dims.reduce((a, d) => a * Number(d), 1);
  const width = descr === '<i4' ? 4 : 8;
  const dataStart = start + headerLen;
  const have = bytes.length - dataStart;
  if (have !== count * width) fail(`the header promises ${count} ids (${count * width} bytes), the file holds ${have} bytes of data`);
  const ids = new Int32Array(count);
  if (width === 4) {
    for (let i = 0; i < count; i++) ids[i] = dv.getInt32(dataStart + 4 * i, true);
    return checkIds(ids, file);
  }
  for (let i = 0; i < count; i++) {
    const v = dv.getBigInt64(dataStart + 8 * i, true);
    ids[i] = v >= 0n && v < BigInt(VOCAB_SIZE) ? Number(v) : -1;
  }
  return checkIds(ids, file, (i) => dv.getBigInt64(dataStart + 8 * i, true));
}

/** A 1-D int32 .npy (format 1.0, as numpy.save writes it). */
function encodeIntNpy(ids: Int32Array): { head: Uint8Array; data: Uint8Array } {
  let dict = `{'descr': '<i4', 'fortran_order': False, 'shape': (${ids.length},), }`;
  dict += ' '.repeat(64 - ((10 + dict.length + 1) % 64)) + '\n';
  const head = new Uint8Array(10 + dict.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length & 0xff, dict.length >> 8]);
  for (let i = 0; i < dict.length; i++) head[10 + i] = dict.charCodeAt(i);
  return { head, data: new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength) };
}

/** Progress on stderr: a bar on a terminal, one line otherwise (logs stay readable). */
function progressBar(enabled: boolean, file: string, total: number, unit: string): { update: (n: number) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY !== true) {
    process.stderr.write(`tokenising ${file} (${total.toLocaleString('en-US')} ${unit}; cached afterwards when a cache directory is given)\n`);
    return { update: () => undefined, stop: () => undefined };
  }
  const bar = new SingleBar({ format: `tokenising ${path.basename(file)} {bar} {percentage}% | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 });
  bar.start(total, 0);
  let last = 0;
  return {
    update: (n) => {
      if (n - last >= total / 500) {
        bar.update(n);
        last = n;
      }
    },
    stop: () => {
      bar.update(total);
      bar.stop();
    },
  };
}

/** A text file's ids: line by line (newline kept, whitespace-only lines skipped), read in chunks. */
function tokeniseText(file: string, progress: boolean): Int32Array {
  const { fd, size } = openRegularFile(file, 'text file');
  const ids = new Ids();
  const bar = progressBar(progress, file, size, 'bytes');
  const line = (l: string) => {
    if (l.trim() !== '') ids.push(encode(l));
  };
  try {
    const decoder = new TextDecoder('utf-8');
    const chunk = Buffer.alloc(TEXT_CHUNK_BYTES);
    let pending = '';
    let read = 0;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, chunk, 0, chunk.length, read);
      } catch (e) {
        throw new RhcError(`cannot read text file ${file}: ${fsReason(e) ?? String(e)}`);
      }
      read += n;
      let text = pending + decoder.decode(chunk.subarray(0, n), { stream: n > 0 });
      // Python reads text with universal newlines: \r\n and a lone \r end a line as \n does.
      // A \r at the end of a chunk waits for the next one (it may be half of a \r\n).
      const hold = n > 0 && text.endsWith('\r') ? '\r' : '';
      if (hold) text = text.slice(0, -1);
      if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        line(text.slice(from, nl + 1));
        from = nl + 1;
      }
      pending = text.slice(from) + hold;
      bar.update(read);
      if (n === 0) break;
    }
    line(pending); // a last line without a newline, as Python's file iteration gives it
  } finally {
    fs.closeSync(fd);
    bar.stop();
  }
  return ids.done();
}

/** A parquet file's ids: its `text` column, row by row, each row as it is. */
async function tokeniseParquet(file: string, progress: boolean): Promise<Int32Array> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const buffer = await asyncBufferFromFile(file);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    throw new RhcError(`${file}: not a readable parquet file (${(e as Error).message})`);
  }
  const columns = metadata.schema.slice(1).map((s) => s.name);
  const text = metadata.schema.find((s, i) => i > 0 && s.name === 'text');
  if (!text) throw new RhcError(`${file}: no column 'text' (as WikiText's parquet shards have); its columns: ${columns.join(', ') || 'none'}`);
  if (text.type !== 'BYTE_ARRAY') throw new RhcError(`${file}: column 'text' holds ${text.type}, expected strings`);
  const rows = Number(metadata.num_rows);
  const ids = new Ids();
  const bar = progressBar(progress, file, rows, 'rows');
  try {
    for (let rowStart = 0; rowStart < rows; rowStart += PARQUET_ROWS) {
      const rowEnd = Math.min(rows, rowStart + PARQUET_ROWS);
      let part: Record<string, unknown>[];
      try {
        part = await parquetReadObjects({ file: buffer, metadata, columns: ['text'], rowStart, rowEnd, compressors });
      } catch (e) {
        throw new RhcError(`${file}: cannot read rows ${rowStart}..${rowEnd - 1} (${(e as Error).message})`);
      }
      part.forEach((r, k) => {
        const v = r.text;
        if (v === null || v === undefined) return; // a null row holds no text
        if (typeof v !== 'string') throw new RhcError(`${file}: row ${rowStart + k} of column 'text' is not a string`);
        if (v !== '') ids.push(encode(v));
      });
      bar.update(rowEnd);
    }
  } finally {
    bar.stop();
  }
  return ids.done();
}

/** Where the ids of `file` are cached: `<cacheDir>/<name>.<key>.npy`. */
export function cacheFileFor(cacheDir: string, file: string): string {
  const st = fs.statSync(file);
  const key = crypto.createHash('sha256').update(JSON.stringify([path.resolve(file), st.size, st.mtimeMs, TOKENIZER_KEY])).digest('hex').slice(0, 16);
  return path.join(cacheDir, `${path.basename(file)}.${key}.npy`);
}

function readCache(cached: string): Int32Array | undefined {
  try {
    return decodeIntNpy(readRegularFile(cached, { maxBytes: MAX_TOKEN_FILE_BYTES, what: 'token cache' }), cached);
  } catch {
    return undefined; // missing or damaged: tokenise again
  }
}

/** The token ids of a data file (the formats are in the header). */
export async function loadTokens(file: string, opts: { cacheDir?: string; progress?: boolean } = {}): Promise<TokenData> {
  const { fd } = openRegularFile(file, 'data file'); // a clear error for a missing file, a directory, a FIFO
  fs.closeSync(fd);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.bin') return { tokens: readBin(file), source: file };
  if (ext === '.npy') return { tokens: decodeIntNpy(readRegularFile(file, { maxBytes: MAX_TOKEN_FILE_BYTES, what: '.npy token file' }), file), source: file };
  const cached = opts.cacheDir !== undefined ? cacheFileFor(opts.cacheDir, file) : undefined;
  const hit = cached !== undefined ? readCache(cached) : undefined;
  if (hit) return { tokens: hit, source: file };
  const tokens = ext === '.parquet' ? await tokeniseParquet(file, opts.progress ?? false) : tokeniseText(file, opts.progress ?? false);
  if (cached !== undefined) {
    const dir = opts.cacheDir!;
    writingFiles(`token cache directory ${dir}`, () => fs.mkdirSync(dir, { recursive: true }));
    const { head, data } = encodeIntNpy(tokens);
    writeFileAtomic(
      cached,
      (out) => {
        writeAll(out, head);
        writeAll(out, data);
      },
      `token cache ${cached} (${formatBytes(head.length + data.length)})`,
    );
  }
  return { tokens, source: file };
}

/** A seed per (seed, epoch), distinct for distinct pairs (a hash, so no two pairs collide in practice). */
function epochSeed(seed: number, epoch: number): number {
  const h = crypto.createHash('sha256').update(`rhc-block-order:${seed}:${epoch}`).digest();
  return h.readUInt32LE(0) + (h.readUInt32LE(4) & 0x1fffff) * 2 ** 32; // 53 bits
}

/**
 * Blocks of `seqLen` consecutive tokens, as run_clm.py's group_texts cuts the concatenated text
 * (the remainder dropped), in an order per epoch: a Fisher-Yates shuffle seeded by (seed, epoch),
 * or file order with shuffle off.
 */
export class BlockSampler {
  /** floor(tokens / seqLen) */
  readonly blocks: number;
  private cached: { epoch: number; order: Uint32Array } | undefined;

  constructor(
    private readonly tokens: Int32Array,
    private readonly seqLen: number,
    private readonly opts: { seed: number; shuffle: boolean; source?: string },
  ) {
    if (!Number.isSafeInteger(seqLen) || seqLen < 1) throw new RhcError(`seq-len must be a positive integer, got ${seqLen}`);
    if (!Number.isSafeInteger(opts.seed)) throw new RhcError(`seed must be an integer, got ${opts.seed}`);
    this.blocks = Math.floor(tokens.length / seqLen);
    if (this.blocks < 1) throw new RhcError(`${opts.source ?? 'the data'} has ${tokens.length} tokens, fewer than one block of ${seqLen} (--seq-len)`);
  }

  /** A permutation of 0..blocks-1, the same for the same (seed, epoch); 0, 1, 2, ... without shuffle. */
  order(epoch: number): Uint32Array {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
    if (this.cached?.epoch === epoch) return this.cached.order;
    const order = Uint32Array.from({ length: this.blocks }, (_, i) => i);
    if (this.opts.shuffle) {
      // One stream per (seed, epoch): epoch e's order does not depend on the epochs before it.
      const rng = new Rng(epochSeed(this.opts.seed, epoch));
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    this.cached = { epoch, order }; // one epoch at a time is all a run needs
    return order;
  }

  /** Blocks order(epoch)[first .. first+count) as [count, seqLen] ids. */
  batch(epoch: number, first: number, count: number): Int32Array {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0 || first + count > this.blocks) {
      throw new RangeError(`blocks ${first}..${first + count - 1} asked of ${this.blocks} (0..${this.blocks - 1})`);
    }
    const order = this.order(epoch);
    const out = new Int32Array(count * this.seqLen);
    for (let r = 0; r < count; r++) {
      const b = order[first + r];
      out.set(this.tokens.subarray(b * this.seqLen, (b + 1) * this.seqLen), r * this.seqLen);
    }
    return out;
  }
}
