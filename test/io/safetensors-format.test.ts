// parseSafetensors (bytes in memory, for browsers) must agree with readSafetensors (files):
// same tensors and values for good files, the same messages for bad ones.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSafetensors, readSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-stf-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fileOf(bytes: Uint8Array, name: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function raw(header: unknown, data: number[] = [], headerText?: string): Uint8Array {
  const hdr = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + hdr.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(hdr.length), true);
  out.set(hdr, 8);
  out.set(data, 8 + hdr.length);
  return out;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
}

describe('parseSafetensors', () => {
  it('reads what writeSafetensors wrote, like readSafetensors does', () => {
    const file = path.join(tmp, 'w.safetensors');
    writeSafetensors(file, [
      { name: 'b', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'a', shape: [1], data: Float32Array.from([-0.5]) },
    ], { format: 'pt' });
    const fromFile = readSafetensors(file);
    const fromBytes = parseSafetensors(new Uint8Array(fs.readFileSync(file)), 'w.safetensors');
    expect(fromBytes.names()).toEqual(fromFile.names());
    expect(fromBytes.metadata).toEqual({ format: 'pt' });
    for (const n of fromFile.names()) {
      expect(fromBytes.get(n).shape).toEqual(fromFile.get(n).shape);
      expect(fromBytes.get(n).toFloat32()).toEqual(fromFile.get(n).toFloat32());
    }
  });

  it('reads tensors at any alignment of the input bytes', () => {
    const bytes = raw({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, [0, 0, 0x80, 0x3f], '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} ');
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    expect(Array.from(parseSafetensors(shifted, 'x').get('t').toFloat32())).toEqual([1]);
  });

  const BAD: [string, Uint8Array][] = [
    ['short', new Uint8Array(5)],
    ['huge header', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 10n ** 12n, true); return b; })()],
    ['past the end', raw({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [0, 0, 0, 0])],
    ['bad json', raw(null, [], '{"t": ')],
    ['bad dtype', raw({ t: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [0])],
    ['overlap', raw({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, [0, 0, 0, 0, 0, 0])],
    ['not an object', raw([1, 2])],
  ];
  it.each(BAD)('rejects a bad file (%s) with readSafetensors\'s message', (name, bytes) => {
    const file = fileOf(bytes, `${name.replace(/ /g, '-')}.safetensors`);
    const expected = messageOf(() => readSafetensors(file));
    expect(expected).not.toBe('(no error)');
    expect(messageOf(() => parseSafetensors(bytes, file))).toBe(expected);
  });

  it('names the file when a tensor is missing', () => {
    const st = parseSafetensors(raw({}), 'https://host/model.safetensors');
    expect(messageOf(() => st.get('nope'))).toBe("https://host/model.safetensors: no tensor named 'nope'");
  });
});
