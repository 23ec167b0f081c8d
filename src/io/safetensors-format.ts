// The safetensors format without a file system: header validation, dtype conversion, and
// parseSafetensors() over bytes already in memory (a browser's fetch()). src/io/safetensors.ts
// reads files with the same validation. Layout: u64 LE header length N, N bytes of UTF-8 JSON,
// then raw little-endian tensor data. Every header field is validated before any tensor-sized
// allocation, so a corrupt or hostile file produces an RhcError, never a crash.

import { RhcError } from '../errors.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

export const ITEM_SIZE: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };
const SUPPORTED = Object.keys(ITEM_SIZE).join(', ');

/** The reference implementation's limit: refusing larger headers bounds what a bad file can cost. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** [begin, end) relative to the start of the data section, as in the header */
  readonly dataOffsets: readonly [number, number];
  /** Raw little-endian bytes (a fresh, 8-byte-aligned buffer). */
  bytes(): Uint8Array;
  /** Values converted to float32 (F32 is returned without conversion). */
  toFloat32(): Float32Array;
}

export interface SafetensorsFile {
  /** the file's path, or the name given to parseSafetensors */
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names in header order. */
  names(): string[];
  has(name: string): boolean;
  /** Throws an RhcError naming the file when the tensor is absent. */
  get(name: string): SafetensorsTensor;
}

/** A validated header entry; offsets are relative to the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface ParsedHeader {
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
}

export function fail(file: string, msg: string): never {
  throw new RhcError(`${file}: ${msg}`);
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The header length from the 8-byte prefix of a file of `size` bytes, checked against the file. */
export function parseHeaderLength(file: string, prefix: Uint8Array, size: number): number {
  const headerLenBig = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (headerLenBig > BigInt(MAX_HEADER_BYTES)) {
    fail(file, `header length ${headerLenBig} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit; refusing to read (corrupt or not a safetensors file)`);
  }
  const headerLen = Number(headerLenBig);
  if (8 + headerLen > size) {
    fail(file, `header length ${headerLen} bytes reaches beyond the end of the file (${size} bytes, ${size - 8} after the length prefix); the file is truncated or not a safetensors file`);
  }
  return headerLen;
}

function parseEntry(file: string, name: string, v: unknown, dataSize: number): SafetensorsEntry {
  const where = `tensor '${name}'`;
  if (!isPlainObject(v)) fail(file, `${where}: header entry must be an object with dtype, shape and data_offsets, got ${JSON.stringify(v)}`);
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in v)) fail(file, `${where}: header entry is missing '${key}'`);
  }
  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== 'string') fail(file, `${where}: dtype must be a string, got ${JSON.stringify(dtype)}`);
  if (!(dtype in ITEM_SIZE)) fail(file, `${where}: unsupported dtype '${dtype}' (rhc reads ${SUPPORTED})`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(file, `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(file, `${where}: data_offsets must be [begin, end], two non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(file, `${where}: data_offsets [${begin}, ${end}] have begin > end`);
  const itemSize = ITEM_SIZE[dtype as SafetensorsDtype];
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = numel * itemSize;
  if (!Number.isSafeInteger(expected)) fail(file, `${where}: shape ${fmtShape(shape as number[])} is too large`);
  if (end - begin !== expected) {
    fail(file, `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape ${fmtShape(shape as number[])} of ${dtype} needs ${numel} x ${itemSize} = ${expected} bytes`);
  }
  if (end > dataSize) {
    fail(file, `${where}: data_offsets [${begin}, ${end}] reach beyond the end of the data section, which holds only ${dataSize} bytes; the file is truncated or its header is corrupt`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

/**
 * The data section must be exactly the tensors, back to back, as the reference implementation
 * requires (its validate(): each tensor starts where the previous one ends, the last ends at the
 * end of the file): an overlap would alias two tensors, and a gap or trailing bytes mean the
 * header does not describe the file (a wrong header over right data, or two files concatenated).
 */
function checkCoverage(file: string, entries: SafetensorsEntry[], dataSize: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: SafetensorsEntry | undefined;
  for (const cur of sorted) {
    if (cur.begin < at) {
      fail(file, `tensors '${prev!.name}' [${prev!.begin}, ${prev!.end}] and '${cur.name}' [${cur.begin}, ${cur.end}] overlap in the data section`);
    }
    if (cur.begin > at) {
      const after = prev ? `after tensor '${prev.name}' [${prev.begin}, ${prev.end}]` : 'at the start of the data section';
      fail(file, `${cur.begin - at} bytes ${after} belong to no tensor (the next, '${cur.name}', starts at ${cur.begin}); the header does not describe this file`);
    }
    at = cur.end;
    if (cur.end > cur.begin) prev = cur;
  }
  if (at < dataSize) {
    fail(file, `${dataSize - at} trailing bytes after the last tensor (the header describes ${at} data bytes, the file holds ${dataSize}); the header does not describe this file`);
  }
}

/** Decodes and validates the JSON header (`headerLen` bytes at offset 8) against a data section of `dataSize` bytes. */
export function parseHeader(file: string, headerBytes: Uint8Array, headerLen: number, dataSize: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(file, `header (${headerLen} bytes at offset 8) is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(file, `header (${headerLen} bytes at offset 8) is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) fail(file, `header must be a JSON object mapping tensor names to entries, got ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}`);

  // Keys from the file are never plain-object keys: a '__proto__' key would vanish.
  const metadata: Record<string, string> = Object.create(null);
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(value)) fail(file, `__metadata__ must be an object of string values, got ${JSON.stringify(value)}`);
      for (const [k, mv] of Object.entries(value)) {
        if (typeof mv !== 'string') fail(file, `__metadata__ key '${k}' must be a string, got ${JSON.stringify(mv)}`);
        metadata[k] = mv;
      }
      continue;
    }
    entries.set(name, parseEntry(file, name, value, dataSize));
  }
  checkCoverage(file, [...entries.values()], dataSize);
  return { metadata, entries };
}

/** A SafetensorsFile over validated entries; `read(entry)` returns an entry's raw bytes. */
export function makeSafetensorsFile(file: string, { metadata, entries }: ParsedHeader, read: (e: SafetensorsEntry) => Uint8Array): SafetensorsFile {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries.values()) {
    const bytes = () => read(e);
    tensors.set(e.name, {
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      dataOffsets: [e.begin, e.end],
      bytes,
      toFloat32: () => toFloat32(e.dtype, bytes()),
    });
  }
  return {
    path: file,
    metadata,
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    get(name) {
      const t = tensors.get(name);
      if (!t) fail(file, `no tensor named '${name}'`);
      return t;
    },
  };
}

/**
 * A safetensors file held in memory (e.g. fetched by a browser); `name` appears in error
 * messages. Validation and messages are those of readSafetensors.
 */
export function parseSafetensors(bytes: Uint8Array, name: string): SafetensorsFile {
  const size = bytes.byteLength;
  if (size < 8) fail(name, `not a safetensors file: ${size} bytes is shorter than the 8-byte header length prefix`);
  const headerLen = parseHeaderLength(name, bytes.subarray(0, 8), size);
  const dataStart = 8 + headerLen;
  const header = parseHeader(name, bytes.subarray(8, dataStart), headerLen, size - dataStart);
  // A copy per tensor into an 8-aligned buffer, as the file reader gives: typed views need alignment.
  return makeSafetensorsFile(name, header, (e) => {
    const n = e.end - e.begin;
    const out = new Uint8Array(new ArrayBuffer(Math.ceil(n / 8) * 8), 0, n);
    out.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    return out;
  });
}

let f16Table: Float32Array | undefined;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // subnormal (and signed zero)
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Converts little-endian raw bytes of `dtype` to float32 (this code assumes a little-endian host, as Node on x86/ARM is). */
export function toFloat32(dtype: SafetensorsDtype, raw: Uint8Array): Float32Array {
  const n = raw.byteLength / ITEM_SIZE[dtype];
  // readRange returns aligned buffers; copy otherwise so typed views are legal.
  const b = raw.byteOffset % 8 === 0 ? raw : raw.slice();
  switch (dtype) {
    case 'F32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'F64':
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, n));
    case 'I32':
      return Float32Array.from(new Int32Array(b.buffer, b.byteOffset, n));
    case 'I64':
      return Float32Array.from(new BigInt64Array(b.buffer, b.byteOffset, n), (v) => Number(v));
    case 'F16': {
      if (!f16Table) {
        f16Table = new Float32Array(65536);
        for (let i = 0; i < 65536; i++) f16Table[i] = halfToFloat(i);
      }
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16Table[src[i]];
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of an f32, so widening is a shift.
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return out;
    }
  }
}
