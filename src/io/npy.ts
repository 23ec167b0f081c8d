// NumPy .npy (format version 1.0), written byte-for-byte as numpy.save writes a C-order
// little-endian float32 array, so files diff cleanly against ones made by NumPy.

import * as fs from 'node:fs';
import { RhcError } from '../errors.ts';
import { openRegularFile, readRegularFile, writeAll, writeFileAtomic } from './files.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
/** numpy reserves room so the leading axis can grow in place to this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;

export interface NpyArray {
  shape: number[];
  dtype: 'float32' | 'float64';
  data: Float32Array | Float64Array;
}

function checkShape(where: string, shape: readonly number[], length: number): void {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RhcError(`${where}: shape ${JSON.stringify(shape)} must be non-negative integers`);
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel !== length) throw new RhcError(`${where}: shape (${shape.join(', ')}) holds ${numel} values but ${length} were given`);
}

/** Python's repr of a tuple: `()`, `(5,)`, `(2, 3)`. */
function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The magic, version and header of a `<f4` array of `shape`: the bytes before its data. */
function npyPreamble(shape: readonly number[]): Uint8Array {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${pyTuple(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  // numpy pads with 1..64 spaces (never 0) before the newline; matching it exactly.
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const pad = ALIGN - (unpadded % ALIGN);
  const header = dict + ' '.repeat(pad) + '\n';
  if (header.length > 0xffff) throw new RhcError(`encodeNpy: header for shape ${pyTuple(shape)} is too long for .npy version 1.0`);
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC, 0);
  out[6] = 1; // version 1.0
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

const dataBytes = (data: Float32Array) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

export function encodeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  checkShape('encodeNpy', shape, data.length);
  const preamble = npyPreamble(shape);
  const out = new Uint8Array(preamble.length + data.byteLength);
  out.set(preamble, 0);
  out.set(dataBytes(data), preamble.length);
  return out;
}

/** Writes the array whole or not at all (an interrupted write leaves the old file), streaming the data. */
export function writeNpy(file: string, shape: readonly number[], data: Float32Array): void {
  checkShape(file, shape, data.length);
  const preamble = npyPreamble(shape);
  writeFileAtomic(
    file,
    (fd) => {
      writeAll(fd, preamble);
      writeAll(fd, dataBytes(data));
    },
    `.npy file ${file}`,
  );
}

/** True when `file` is a regular file that starts with the .npy magic (so replacing it loses no other kind of file). */
export function isNpyFile(file: string): boolean {
  let fd: number;
  try {
    fd = openRegularFile(file).fd;
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(MAGIC.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && MAGIC.every((b, i) => head[i] === b);
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses .npy bytes holding a C-order `<f4` or `<f8` array (versions 1.0, 2.0 and 3.0). */
export function decodeNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  const fail = (msg: string): never => {
    throw new RhcError(`${file}: ${msg}`);
  };
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) fail('not a .npy file (missing the \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) fail('file is truncated inside the header length');
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.length) fail(`header length ${headerLen} reaches beyond the end of the file (${bytes.length} bytes)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, dataStart));

  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`malformed header ${JSON.stringify(header.trim())}`);
  if (descr !== '<f4' && descr !== '<f8') fail(`unsupported dtype '${descr}' (rhc reads '<f4' and '<f8' only)`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported; save with C order (np.ascontiguousarray)');
  const dims = shapeText!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!dims.every((d) => /^\d+$/.test(d))) fail(`malformed shape (${shapeText})`);
  const shape = dims.map(Number);
  const numel = shape.reduce((a, b) => a * b, 1);
  const itemSize = descr === '<f4' ? 4 : 8;
  const have = bytes.length - dataStart;
  if (have !== numel * itemSize) {
    fail(`shape (${shape.join(', ')}) of ${descr} needs ${numel * itemSize} data bytes but the file holds ${have}`);
  }
  // Copy (Buffer#slice would share memory) so the typed array is aligned whatever the header length.
  const raw = new Uint8Array(bytes.subarray(dataStart));
  return descr === '<f4'
    ? { shape, dtype: 'float32', data: new Float32Array(raw.buffer, 0, numel) }
    : { shape, dtype: 'float64', data: new Float64Array(raw.buffer, 0, numel) };
}

/** The largest .npy readNpy takes by default: well above any logits rhc writes ([1024, 50257] f32 is 196 MiB). */
export const MAX_NPY_BYTES = 2 ** 31;

export function readNpy(file: string, maxBytes = MAX_NPY_BYTES): NpyArray {
  return decodeNpy(readRegularFile(file, { maxBytes, what: '.npy file' }), file);
}
