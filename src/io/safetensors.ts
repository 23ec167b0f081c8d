// safetensors, owned here because npm has no usable reader (see shared/ENVIRONMENT.md).
// Layout: u64 LE header length N, N bytes of UTF-8 JSON, then raw little-endian tensor data.
// Every header field is validated before any tensor-sized allocation, so a corrupt or
// hostile file costs at most one header read and produces an RhcError, never a crash.
// Unlike the reference reader, gaps between tensors and trailing bytes are tolerated
// (harmless); overlaps and data past the end of the file are not.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../dsl/diagnostics.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

const ITEM_SIZE: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };
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
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names in header order. */
  names(): string[];
  has(name: string): boolean;
  /** Throws an RhcError naming the file when the tensor is absent. */
  get(name: string): SafetensorsTensor;
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

function fail(file: string, msg: string): never {
  throw new RhcError(`${file}: ${msg}`);
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function fsError(file: string, what: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException)?.code;
  const reason = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : String((e as Error)?.message ?? e);
  fail(file, `cannot ${what}: ${reason}`);
}

function readRange(file: string, fd: number, position: number, length: number): Uint8Array {
  // Allocating as Float64-backed storage keeps the bytes 8-aligned, so typed views need no copy.
  const buf = new Uint8Array(new ArrayBuffer(Math.ceil(length / 8) * 8), 0, length);
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, done, length - done, position + done);
    } catch (e) {
      fsError(file, `read ${length} bytes at offset ${position}`, e);
    }
    if (n === 0) fail(file, `unexpected end of file at byte ${position + done} (wanted ${length} bytes from byte ${position}); the file is truncated`);
    done += n;
  }
  return buf;
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(file: string, name: string, v: unknown, dataSize: number): Entry {
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

function checkOverlaps(file: string, entries: Entry[]): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (cur.begin < prev.end) {
      fail(file, `tensors '${prev.name}' [${prev.begin}, ${prev.end}] and '${cur.name}' [${cur.begin}, ${cur.end}] overlap in the data section`);
    }
  }
}

export function readSafetensors(file: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    fsError(file, 'open safetensors file', e);
  }
  try {
    let size: number;
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) fail(file, 'is a directory, not a safetensors file');
      size = st.size;
    } catch (e) {
      if (e instanceof RhcError) throw e;
      fsError(file, 'stat safetensors file', e);
    }
    if (size < 8) fail(file, `not a safetensors file: ${size} bytes is shorter than the 8-byte header length prefix`);
    const prefix = readRange(file, fd, 0, 8);
    const headerLenBig = new DataView(prefix.buffer, 0, 8).getBigUint64(0, true);
    if (headerLenBig > BigInt(MAX_HEADER_BYTES)) {
      fail(file, `header length ${headerLenBig} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit; refusing to read (corrupt or not a safetensors file)`);
    }
    const headerLen = Number(headerLenBig);
    if (8 + headerLen > size) {
      fail(file, `header length ${headerLen} bytes reaches beyond the end of the file (${size} bytes, ${size - 8} after the length prefix); the file is truncated or not a safetensors file`);
    }
    const headerBytes = readRange(file, fd, 8, headerLen);
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

    const dataStart = 8 + headerLen;
    const dataSize = size - dataStart;
    const metadata: Record<string, string> = {};
    const entries = new Map<string, Entry>();
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
    checkOverlaps(file, [...entries.values()]);
    return makeFile(file, metadata, entries, dataStart);
  } finally {
    fs.closeSync(fd);
  }
}

function makeFile(file: string, metadata: Record<string, string>, entries: Map<string, Entry>, dataStart: number): SafetensorsFile {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries.values()) {
    // Data is read per tensor on demand: a checkpoint never has to fit in memory twice.
    const bytes = (): Uint8Array => {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch (err) {
        fsError(file, `reopen to read tensor '${e.name}'`, err);
      }
      try {
        return readRange(file, fd, dataStart + e.begin, e.end - e.begin);
      } finally {
        fs.closeSync(fd);
      }
    };
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

/**
 * Writes F32 tensors the way the reference implementation does: tensors ordered by name,
 * compact JSON with `__metadata__` first, header padded with spaces to a multiple of 8 bytes.
 * Writes to a temporary file and renames, so a crash never leaves a half-written checkpoint.
 */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(file, `metadata key '${k}' must be a string, got ${JSON.stringify(v)}`);
    }
    header.__metadata__ = metadata;
  }
  const seen = new Set<string>();
  let offset = 0;
  for (const t of sorted) {
    if (t.name === '' || t.name === '__metadata__') fail(file, `invalid tensor name '${t.name}'`);
    if (seen.has(t.name)) fail(file, `tensor '${t.name}' is given twice`);
    seen.add(t.name);
    if (!t.shape.every(isCount)) fail(file, `tensor '${t.name}': shape ${JSON.stringify(t.shape)} must be non-negative integers`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== numel) {
      fail(file, `tensor '${t.name}': shape ${fmtShape(t.shape)} holds ${numel} values but ${t.data.length} were given`);
    }
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + numel * 4] };
    offset += numel * 4;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));

  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, prefix);
      fs.writeSync(fd, json);
      for (const t of sorted) fs.writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    fsError(file, 'write safetensors file', e);
  }
}
