// The file formats the hostile suite reads and forges, written by hand from their public
// definitions (safetensors: u64 LE header length, JSON header, data; .npy 1.0) and never
// through rhc's own readers: a probe's expectation must not share rhc's mistakes.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface Safetensors {
  /** tensor name -> entry, in file order; `__metadata__` apart */
  header: Map<string, HeaderEntry>;
  metadata?: unknown;
  /** the bytes after the header */
  data: Buffer;
}

export function parseSafetensors(buf: Buffer): Safetensors {
  const n = Number(buf.readBigUInt64LE(0));
  const json = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const header = new Map<string, HeaderEntry>();
  let metadata: unknown;
  // Object.keys sees an own "__proto__" key (JSON.parse makes one), which a forged header may hold.
  for (const key of Object.keys(json)) {
    if (key === '__metadata__') metadata = json[key];
    else header.set(key, json[key] as HeaderEntry);
  }
  return { header, metadata, data: buf.subarray(8 + n) };
}

/** Float32 values of one F32 tensor. */
export function f32Tensor(st: Safetensors, name: string): Float32Array {
  const e = st.header.get(name);
  if (!e || e.dtype !== 'F32') throw new Error(`hostile: no F32 tensor ${name}`);
  const [b, end] = e.data_offsets;
  const copy = Buffer.from(st.data.subarray(b, end));
  return new Float32Array(copy.buffer, copy.byteOffset, (end - b) / 4);
}

export function readWeights(file: string): Map<string, Float32Array> {
  const st = parseSafetensors(fs.readFileSync(file));
  return new Map([...st.header.keys()].map((k) => [k, f32Tensor(st, k)]));
}

export interface ForgedTensor {
  name: string;
  dtype?: string;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * A safetensors file from parts, each overridable, so that probes can forge any defect:
 * `headerText` replaces the JSON, `headerLength` the u64, `offsets` the data_offsets of a
 * tensor, `trailing` is appended after the data, `gapAfter` leaves unclaimed bytes after a tensor.
 */
export function forgeSafetensors(
  tensors: readonly ForgedTensor[],
  opts: { metadata?: unknown; headerText?: string; headerLength?: bigint; offsets?: Map<string, [number, number]>; trailing?: Uint8Array; pad?: boolean; gapAfter?: string } = {},
): Buffer {
  const header: Record<string, unknown> = {};
  if (opts.metadata !== undefined) header.__metadata__ = opts.metadata;
  let offset = 0;
  for (const t of tensors) {
    const offsets = opts.offsets?.get(t.name) ?? [offset, offset + t.bytes.length];
    // defineProperty: a tensor named "__proto__" must become a key, not the object's prototype
    Object.defineProperty(header, t.name, { value: { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: offsets }, enumerable: true, configurable: true, writable: true });
    offset += t.bytes.length;
    if (t.name === opts.gapAfter) offset += GAP;
  }
  let json = opts.headerText ?? JSON.stringify(header);
  if (opts.pad !== false) while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.headerLength ?? BigInt(head.length));
  const data = tensors.flatMap((t) => [Buffer.from(t.bytes), ...(t.name === opts.gapAfter ? [Buffer.alloc(GAP)] : [])]);
  return Buffer.concat([len, head, ...data, Buffer.from(opts.trailing ?? new Uint8Array())]);
}

/** Bytes of unclaimed data a `gapAfter` leaves between two tensors. */
const GAP = 8;

export function f32Bytes(a: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(a).buffer);
}

/** The tensors of a file as forgeable parts (F32 only). */
export function tensorsOf(file: string): ForgedTensor[] {
  const st = parseSafetensors(fs.readFileSync(file));
  return [...st.header.entries()].map(([name, e]) => ({ name, dtype: e.dtype, shape: [...e.shape], bytes: f32Bytes(f32Tensor(st, name)) }));
}

/** A C-order little-endian float32 .npy (version 1.0). */
export function readNpyF32(file: string): { shape: number[]; data: Float32Array } {
  const buf = fs.readFileSync(file);
  if (buf.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header) || !/'fortran_order':\s*False/.test(header)) throw new Error(`${file}: not a C-order <f4 array: ${header}`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = Buffer.from(buf.subarray(10 + headerLen));
  const data = new Float32Array(body.buffer, body.byteOffset, body.length / 4);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${file}: shape (${shape}) does not match ${data.length} values`);
  return { shape, data };
}

export function sha256(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * What a directory tree holds, relative path -> a fingerprint: `f:<sha256>` for a regular file,
 * `l:<target>` for a link (never followed), `d` for a directory, `p`/`c`/`s`/`b` for FIFOs,
 * devices and sockets (never opened).
 */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    for (const name of fs.readdirSync(abs)) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, r));
      if (st.isSymbolicLink()) out.set(r, `l:${fs.readlinkSync(path.join(root, r))}`);
      else if (st.isDirectory()) {
        out.set(r, 'd');
        walk(r);
      } else if (st.isFile()) out.set(r, `f:${sha256(fs.readFileSync(path.join(root, r)))}`);
      else out.set(r, st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : 's');
    }
  };
  if (fs.existsSync(root)) walk('');
  return out;
}

/** The regular files under `dir` (relative path -> sha256): what an output directory holds. */
export function fileHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [rel, fp] of snapshot(dir)) if (fp.startsWith('f:')) out.set(rel, fp.slice(2));
  return out;
}

export function sameHashes(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** The first difference between two hash maps, in words (for failure details). */
export function hashDiff(got: ReadonlyMap<string, string>, want: ReadonlyMap<string, string>): string {
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  const changed = [...want.keys()].filter((k) => got.has(k) && got.get(k) !== want.get(k));
  return [missing.length && `missing ${missing.slice(0, 4).join(', ')}`, extra.length && `extra ${extra.slice(0, 4).join(', ')}`, changed.length && `differs ${changed.slice(0, 4).join(', ')}`]
    .filter(Boolean)
    .join('; ');
}
