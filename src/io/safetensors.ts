// safetensors files, owned here because npm has no usable reader (see shared/ENVIRONMENT.md).
// The format itself (header validation, dtype conversion, parsing bytes in memory) lives in
// safetensors-format.ts, which browsers can load; this file adds reading and writing files.
// Every header field is validated before any tensor-sized allocation, so a corrupt or
// hostile file costs at most one header read and produces an RhcError, never a crash.
// As in the reference reader, the tensors must fill the data section exactly: overlaps, gaps,
// trailing bytes and data past the end of the file are refused. Only regular files are opened
// (a FIFO or /dev/zero named model.safetensors is refused before any read).

import { byteSize, DTYPES } from '../ir/dtypes.ts';
import * as fs from 'node:fs';
import { fsReason, openRegularFile, writeAll, writeFileAtomic } from './files.ts';
import { fail, fmtShape, isCount, makeSafetensorsFile, parseHeader, parseHeaderLength, type SafetensorsFile } from './safetensors-format.ts';

export {
  MAX_HEADER_BYTES,
  parseSafetensors,
  toFloat32,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsTensor,
} from './safetensors-format.ts';

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

function fsError(file: string, what: string, e: unknown): never {
  fail(file, `cannot ${what}: ${fsReason(e) ?? String((e as Error)?.message ?? e)}`);
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

export function readSafetensors(file: string): SafetensorsFile {
  const { fd, size } = openRegularFile(file, 'safetensors file');
  try {
    if (size < 8) fail(file, `not a safetensors file: ${size} bytes is shorter than the 8-byte header length prefix`);
    const headerLen = parseHeaderLength(file, readRange(file, fd, 0, 8), size);
    const headerBytes = readRange(file, fd, 8, headerLen);
    const dataStart = 8 + headerLen;
    const header = parseHeader(file, headerBytes, headerLen, size - dataStart);
    // Data is read per tensor on demand: a checkpoint never has to fit in memory twice.
    return makeSafetensorsFile(file, header, (e) => {
      const { fd } = openRegularFile(file, 'safetensors file');
      try {
        return readRange(file, fd, dataStart + e.begin, e.end - e.begin);
      } finally {
        fs.closeSync(fd);
      }
    });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes F32 tensors the way the reference implementation does: tensors ordered by name,
 * compact JSON with `__metadata__` first, header padded with spaces to a multiple of 8 bytes.
 * The file appears whole or not at all (writeFileAtomic); the tensors are streamed to it, so a
 * checkpoint is never held in memory twice. `shown` names the file in messages (a checkpoint
 * built aside is written under a temporary folder, but reported under its final name).
 */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>, shown = file): void {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Tensor names are never plain-object keys: `header['__proto__'] = ...` would drop the tensor.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) {
    const meta: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(shown, `metadata key '${k}' must be a string, got ${JSON.stringify(v)}`);
      meta[k] = v;
    }
    header.__metadata__ = meta;
  }
  const seen = new Set<string>();
  let offset = 0;
  for (const t of sorted) {
    if (t.name === '' || t.name === '__metadata__') fail(shown, `invalid tensor name '${t.name}'`);
    if (seen.has(t.name)) fail(shown, `tensor '${t.name}' is given twice`);
    seen.add(t.name);
    if (!t.shape.every(isCount)) fail(shown, `tensor '${t.name}': shape ${JSON.stringify(t.shape)} must be non-negative integers`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== numel) {
      fail(shown, `tensor '${t.name}': shape ${fmtShape(t.shape)} holds ${numel} values but ${t.data.length} were given`);
    }
    const bytes = byteSize('f32', numel);
    header[t.name] = { dtype: DTYPES.f32.safetensors, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileAtomic(
    file,
    (fd) => {
      writeAll(fd, prefix);
      writeAll(fd, json);
      for (const t of sorted) writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    },
    `safetensors file ${shown}`,
  );
}
