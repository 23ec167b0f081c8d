import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, isNpyFile, readNpy, writeNpy } from '../../src/io/npy.ts';
import { rhcErrorOf } from '../helpers/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-npy-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');


/** A .npy v1.0 file with an arbitrary header dict, padded per the spec. */
function npyWith(dict: string, data: Uint8Array): Uint8Array {
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = dict + ' '.repeat(pad) + '\n';
  return Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8, ...Buffer.from(header, 'latin1'), ...data]);
}

describe('encodeNpy', () => {
  it('matches the format spec byte for byte for a (2, 3) float32 array', () => {
    const bytes = encodeNpy([2, 3], Float32Array.from([1, 2, 3, 4, 5, -0.5]));
    expect([...bytes.subarray(0, 6)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
    expect([bytes[6], bytes[7]]).toEqual([1, 0]); // version 1.0
    const headerLen = bytes[8] | (bytes[9] << 8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = latin1(bytes.subarray(10, 10 + headerLen));
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    expect(header.startsWith(dict)).toBe(true);
    expect(header.endsWith('\n')).toBe(true);
    expect(header.slice(dict.length, -1)).toMatch(/^ +$/);
    // little-endian f32: 1 = 3f800000, 2 = 40000000, 3 = 40400000, 4 = 40800000, 5 = 40a00000, -0.5 = bf000000
    expect(Buffer.from(bytes.subarray(10 + headerLen)).toString('hex')).toBe('0000803f0000004000004040000080400000a040000000bf');
    // What numpy 2.4's np.save wrote for the same array (it reserves 21 digits for the first axis).
    const numpy = hex(
      '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000803f0000004000004040000080400000a040000000bf',
    );
    expect(bytes).toEqual(numpy);
  });

  it('writes Python tuple syntax for 0-d and 1-d shapes and keeps 64-byte alignment', () => {
    for (const [shape, text] of [
      [[], '()'],
      [[5], '(5,)'],
      [[1, 2, 3, 4], '(1, 2, 3, 4)'],
      [[123456, 0], '(123456, 0)'],
    ] as const) {
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      const bytes = encodeNpy(shape, new Float32Array(n));
      const headerLen = bytes[8] | (bytes[9] << 8);
      expect((10 + headerLen) % 64).toBe(0);
      expect(latin1(bytes.subarray(10, 10 + headerLen))).toContain(`'shape': ${text}, }`);
      expect(bytes.length).toBe(10 + headerLen + 4 * n);
    }
  });

  it('rejects a shape that does not match the data', () => {
    expect(rhcErrorOf(() => encodeNpy([2, 2], new Float32Array(3))).message).toContain('shape (2, 2) holds 4 values but 3 were given');
    expect(rhcErrorOf(() => encodeNpy([-1], new Float32Array(0))).message).toContain('must be non-negative integers');
  });
});

describe('readNpy', () => {
  it('round trips through a file, including a subarray view', () => {
    const file = path.join(tmp, 'a.npy');
    const base = Float32Array.from({ length: 20 }, (_, i) => i * 0.25 - 2);
    writeNpy(file, [3, 4], base.subarray(4, 16));
    const r = readNpy(file);
    expect(r.shape).toEqual([3, 4]);
    expect(r.dtype).toBe('float32');
    expect(r.data).toEqual(base.subarray(4, 16));
  });

  it('reads a float64 file written by numpy', () => {
    // np.save(np.array([0.1, -2.5], dtype='<f8'))
    const bytes = hex(
      '934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a9a9999999999b93f00000000000004c0',
    );
    const r = decodeNpy(bytes);
    expect(r.dtype).toBe('float64');
    expect(r.shape).toEqual([2]);
    expect(Array.from(r.data)).toEqual([0.1, -2.5]);
  });

  it('rejects other dtypes, Fortran order and malformed files clearly', () => {
    const four = new Uint8Array(4);
    const cases: [Uint8Array, string][] = [
      [npyWith("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", four), "unsupported dtype '<i4'"],
      [npyWith("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", four), "unsupported dtype '>f4'"],
      [npyWith("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", four), 'Fortran-order arrays are not supported'],
      [npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", four), 'shape (2) of <f4 needs 8 data bytes but the file holds 4'],
      [npyWith("{'descr': '<f4', 'shape': (1,), }", four), 'malformed header'],
      [Uint8Array.from(Buffer.from('PK\x03\x04 not npy')), 'not a .npy file'],
      [Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 1, 0, 200, 0]), 'header length 200 reaches beyond the end of the file'],
    ];
    cases.forEach(([bytes, msg], i) => {
      const file = path.join(tmp, `bad${i}.npy`);
      fs.writeFileSync(file, bytes);
      const err = rhcErrorOf(() => readNpy(file)).message;
      expect(err).toContain(file);
      expect(err).toContain(msg);
    });
    expect(rhcErrorOf(() => readNpy(path.join(tmp, 'missing.npy'))).message).toContain('cannot read .npy file');
  });

  it('reads only regular files, within a size limit, and promptly', () => {
    const fifo = path.join(tmp, 'fifo.npy');
    execFileSync('mkfifo', [fifo]);
    const zero = path.join(tmp, 'zero.npy');
    fs.symlinkSync('/dev/zero', zero);
    const t0 = Date.now();
    expect(rhcErrorOf(() => readNpy(fifo)).message).toBe(`cannot read .npy file ${fifo}: it is a FIFO, not a regular file`);
    expect(rhcErrorOf(() => readNpy(zero)).message).toBe(`cannot read .npy file ${zero}: it is a device, not a regular file`);
    const big = path.join(tmp, 'big.npy');
    writeNpy(big, [64], new Float32Array(64));
    expect(rhcErrorOf(() => readNpy(big, 100)).message).toContain('more than the 100 bytes a .npy file may be');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('writeNpy and isNpyFile', () => {
  it('replaces a file whole, leaving nothing beside it; isNpyFile tells .npy files by their magic', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'w-'));
    const file = path.join(dir, 'x.npy');
    writeNpy(file, [2], Float32Array.from([1, 2]));
    writeNpy(file, [3], Float32Array.from([-1, 0.5, 4]));
    expect(Array.from(readNpy(file).data)).toEqual([-1, 0.5, 4]);
    expect(fs.readdirSync(dir)).toEqual(['x.npy']);
    expect(isNpyFile(file)).toBe(true);
    fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.alloc(16));
    expect(isNpyFile(path.join(dir, 'model.safetensors'))).toBe(false);
    expect(isNpyFile(path.join(dir, 'absent.npy'))).toBe(false);
    execFileSync('mkfifo', [path.join(dir, 'fifo.npy')]);
    expect(isNpyFile(path.join(dir, 'fifo.npy'))).toBe(false);
    expect(rhcErrorOf(() => writeNpy(path.join(dir, 'no', 'such', 'x.npy'), [1], new Float32Array(1))).message).toBe(
      `cannot write .npy file ${path.join(dir, 'no', 'such', 'x.npy')}: no such file or directory`,
    );
  });
});
