import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import { rhcErrorOf } from '../helpers/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-st-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

/** A safetensors file assembled by hand: u64 LE length, header text, raw bytes. */
function build(header: unknown, data: number[] = [], opts: { headerText?: string; headerBytes?: Uint8Array; lenOverride?: bigint } = {}): string {
  const hdr = opts.headerBytes ?? new TextEncoder().encode(opts.headerText ?? JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, opts.lenOverride ?? BigInt(hdr.length), true);
  const file = path.join(tmp, `t${counter++}.safetensors`);
  fs.writeFileSync(file, Buffer.concat([len, hdr, Uint8Array.from(data)]));
  return file;
}


const expectError = (file: string, ...parts: (string | RegExp)[]) => {
  const msg = rhcErrorOf(() => readSafetensors(file)).message;
  expect(msg).toContain(file);
  for (const p of parts) typeof p === 'string' ? expect(msg).toContain(p) : expect(msg).toMatch(p);
};

describe('readSafetensors: values', () => {
  it('reads F32, F16 and BF16 tensors built byte by byte', () => {
    const file = build(
      {
        __metadata__: { format: 'pt' },
        f32: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        f16: { dtype: 'F16', shape: [2, 4], data_offsets: [8, 24] },
        bf16: { dtype: 'BF16', shape: [3], data_offsets: [24, 30] },
      },
      [
        // F32 1.0 = 0x3F800000, -0.5 = 0xBF000000 (little-endian)
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xbf,
        // F16: 0x3C00=1, 0xC000=-2, 0x3555=1365/4096, 0x7BFF=65504, 0x0001=2^-24, 0x7C00=inf, 0xFC00=-inf, 0x8000=-0
        0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c, 0x00, 0xfc, 0x00, 0x80,
        // BF16: 0x3F80=1, 0xC040=-3, 0x4049=3.140625
        0x80, 0x3f, 0x40, 0xc0, 0x49, 0x40,
      ],
    );
    const st = readSafetensors(file);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.names()).toEqual(['f32', 'f16', 'bf16']);
    expect(st.get('f32').dtype).toBe('F32');
    expect(Array.from(st.get('f32').toFloat32())).toEqual([1, -0.5]);
    const f16 = st.get('f16');
    expect(f16.shape).toEqual([2, 4]);
    expect(Array.from(f16.toFloat32())).toEqual([1, -2, 1365 / 4096, 65504, 2 ** -24, Infinity, -Infinity, -0]);
    expect(Object.is(f16.toFloat32()[7], -0)).toBe(true);
    expect(Array.from(st.get('bf16').toFloat32())).toEqual([1, -3, 3.140625]);
  });

  it('reads F16 NaN, F64, I32 and I64', () => {
    const file = build(
      {
        nan: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
        f64: { dtype: 'F64', shape: [1], data_offsets: [2, 10] },
        i32: { dtype: 'I32', shape: [1], data_offsets: [10, 14] },
        i64: { dtype: 'I64', shape: [1], data_offsets: [14, 22] },
      },
      [
        0x00, 0x7e, // F16 quiet NaN
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0, // F64 -2.5 = 0xC004000000000000
        0xfd, 0xff, 0xff, 0xff, // I32 -3
        0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // I64 7
      ],
    );
    const st = readSafetensors(file);
    expect(Number.isNaN(st.get('nan').toFloat32()[0])).toBe(true);
    expect(Array.from(st.get('f64').toFloat32())).toEqual([-2.5]);
    expect(Array.from(st.get('i32').toFloat32())).toEqual([-3]);
    expect(Array.from(st.get('i64').toFloat32())).toEqual([7]);
  });

  it('accepts scalars and empty tensors, and a header padded with spaces', () => {
    const header = JSON.stringify({ s: { dtype: 'F32', shape: [], data_offsets: [0, 4] }, e: { dtype: 'F32', shape: [0, 3], data_offsets: [4, 4] } });
    const file = build(null, [0, 0, 0x80, 0x3f], { headerText: header + '   ' });
    const st = readSafetensors(file);
    expect(Array.from(st.get('s').toFloat32())).toEqual([1]);
    expect(st.get('e').toFloat32().length).toBe(0);
  });

  it('names the tensor and file when a name is unknown', () => {
    const file = build({ a: { dtype: 'F32', shape: [0], data_offsets: [0, 0] } });
    const st = readSafetensors(file);
    expect(st.has('a')).toBe(true);
    expect(st.has('b')).toBe(false);
    expect(rhcErrorOf(() => st.get('b')).message).toContain("no tensor named 'b'");
  });
});

describe('readSafetensors: malformed files', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const eight = [0, 0, 0, 0, 0, 0, 0, 0];

  it('missing file and directory', () => {
    const missing = path.join(tmp, 'nope.safetensors');
    expectError(missing, 'no such file or directory');
    expectError(tmp, 'it is a directory, not a regular file');
  });

  it('a FIFO or a link to /dev/zero is refused at once, not read forever', () => {
    const fifo = path.join(tmp, 'fifo.safetensors');
    execFileSync('mkfifo', [fifo]);
    const zero = path.join(tmp, 'zero.safetensors');
    fs.symlinkSync('/dev/zero', zero);
    const t0 = Date.now();
    expectError(fifo, 'it is a FIFO, not a regular file');
    expectError(zero, 'it is a device, not a regular file');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('file shorter than 8 bytes', () => {
    const file = path.join(tmp, 'short.safetensors');
    fs.writeFileSync(file, Uint8Array.from([1, 2, 3]));
    expectError(file, '3 bytes is shorter than the 8-byte header length prefix');
  });

  it('header length beyond the file size', () => {
    expectError(build({ a: ok }, eight, { lenOverride: 5000n }), 'header length 5000 bytes reaches beyond the end of the file');
  });

  it('header larger than 100 MB is refused without allocating it', () => {
    expectError(build({}, [], { lenOverride: 100_000_001n }), 'header length 100000001 bytes exceeds the 100000000-byte limit');
    expectError(build({}, [], { lenOverride: 0xffffffffffffffffn }), 'exceeds the 100000000-byte limit');
  });

  it('header not UTF-8, not JSON, not an object', () => {
    expectError(build(null, [], { headerBytes: Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]) }), 'not valid UTF-8');
    expectError(build(null, [], { headerText: '{"a": ' }), 'not valid JSON');
    expectError(build([1, 2]), 'must be a JSON object', 'an array');
    expectError(build(42), 'must be a JSON object', '42');
    expectError(build(null), 'must be a JSON object', 'null');
  });

  it('entry missing dtype, shape or data_offsets', () => {
    expectError(build({ w: { shape: [2], data_offsets: [0, 8] } }, eight), "tensor 'w'", "missing 'dtype'");
    expectError(build({ w: { dtype: 'F32', data_offsets: [0, 8] } }, eight), "tensor 'w'", "missing 'shape'");
    expectError(build({ w: { dtype: 'F32', shape: [2] } }, eight), "tensor 'w'", "missing 'data_offsets'");
    expectError(build({ w: 'F32' }, eight), "tensor 'w'", 'must be an object');
  });

  it('entry fields of the wrong type', () => {
    expectError(build({ w: { ...ok, dtype: 4 } }, eight), "tensor 'w'", 'dtype must be a string');
    expectError(build({ w: { ...ok, shape: '2' } }, eight), "tensor 'w'", 'shape must be an array of non-negative integers');
    expectError(build({ w: { ...ok, shape: [-2] } }, eight), "tensor 'w'", 'shape must be an array of non-negative integers');
    expectError(build({ w: { ...ok, shape: [1.5] } }, eight), "tensor 'w'", 'shape must be');
    expectError(build({ w: { ...ok, data_offsets: [0, 8, 9] } }, eight), "tensor 'w'", 'data_offsets must be [begin, end]');
    expectError(build({ w: { ...ok, data_offsets: [0, '8'] } }, eight), "tensor 'w'", 'data_offsets must be [begin, end]');
    expectError(build({ w: { ...ok, data_offsets: [-1, 7] } }, eight), "tensor 'w'", 'data_offsets must be [begin, end]');
    expectError(build({ __metadata__: [1], w: ok }, eight), '__metadata__ must be an object');
    expectError(build({ __metadata__: { format: 1 }, w: ok }, eight), "__metadata__ key 'format' must be a string");
  });

  it('unsupported dtype', () => {
    expectError(build({ w: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, eight), "tensor 'w'", "unsupported dtype 'U8'", 'F32, F16, BF16');
    expectError(build({ w: { ...ok, dtype: 'F99' } }, eight), "unsupported dtype 'F99'");
  });

  it('begin > end', () => {
    expectError(build({ w: { ...ok, data_offsets: [8, 0] } }, eight), "tensor 'w'", 'data_offsets [8, 0] have begin > end');
  });

  it('byte length different from product(shape) * itemsize', () => {
    expectError(
      build({ w: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 8] } }, eight),
      "tensor 'w'",
      'span 8 bytes, but shape [2, 3] of F16 needs 6 x 2 = 12 bytes',
    );
  });

  it('offsets out of range of the data section', () => {
    const file = build({ a: ok, w: { dtype: 'F32', shape: [2], data_offsets: [1000, 1008] } }, eight);
    expectError(file, "tensor 'w'", 'data_offsets [1000, 1008] reach beyond the end of the data section, which holds only 8 bytes');
  });

  it('overlapping tensors', () => {
    const file = build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight);
    expectError(file, "'a' [0, 8]", "'b' [4, 8]", 'overlap');
  });

  it('gaps and trailing bytes: the tensors must fill the data section, as the reference reader requires', () => {
    const gap = build({ a: { ...ok, data_offsets: [0, 8] }, b: { ...ok, data_offsets: [12, 20] } }, [...eight, 0, 0, 0, 0, ...eight]);
    expectError(gap, "4 bytes after tensor 'a' [0, 8] belong to no tensor", "'b', starts at 12");
    const lead = build({ a: { ...ok, data_offsets: [4, 12] } }, [0, 0, 0, 0, ...eight]);
    expectError(lead, '4 bytes at the start of the data section belong to no tensor');
    const trailing = build({ a: ok }, [...eight, 1, 2, 3]);
    expectError(trailing, '3 trailing bytes after the last tensor', 'describes 8 data bytes, the file holds 11');
    expectError(build({}, [0]), '1 trailing bytes');
    // empty tensors may sit anywhere inside the covered range
    expect(readSafetensors(build({ a: ok, e: { ...ok, shape: [0], data_offsets: [8, 8] }, z: { ...ok, shape: [0], data_offsets: [0, 0] } }, eight)).names()).toEqual(['a', 'e', 'z']);
  });

  it('truncated data', () => {
    // A valid two-tensor file, cut inside the second tensor.
    const full = build({ a: ok, b: { ...ok, data_offsets: [8, 16] } }, [...eight, ...eight]);
    const bytes = fs.readFileSync(full);
    const cut = path.join(tmp, 'cut.safetensors');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 3));
    expectError(cut, "tensor 'b'", 'holds only 13 bytes', 'truncated');
  });

  it('a file that shrinks after opening is reported, not misread', () => {
    const file = build({ a: ok }, eight);
    const st = readSafetensors(file);
    fs.truncateSync(file, fs.statSync(file).size - 4);
    expect(rhcErrorOf(() => st.get('a').toFloat32()).message).toMatch(/unexpected end of file.*truncated/);
  });
});

describe('writeSafetensors', () => {
  it('writes the reference layout: sorted names, metadata first, 8-byte aligned header', () => {
    const file = path.join(tmp, 'w.safetensors');
    writeSafetensors(
      file,
      [
        { name: 'b', shape: [1], data: Float32Array.from([-0.5]) },
        { name: 'a', shape: [1, 2], data: Float32Array.from([1, 2]) },
      ],
      { format: 'pt' },
    );
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    expect(bytes.subarray(8, 8 + n).toString('latin1')).toBe(json + ' '.repeat(n - json.length));
    expect(n - json.length).toBeLessThan(8);
    expect([...bytes.subarray(8 + n)]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0, 0xbf]);
  });

  it('round trips', () => {
    const file = path.join(tmp, 'rt.safetensors');
    const big = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    writeSafetensors(file, [
      { name: 'x.weight', shape: [10, 100], data: big },
      { name: 'scalar', shape: [], data: Float32Array.from([3.5]) },
      { name: 'view', shape: [2], data: big.subarray(5, 7) },
    ]);
    const st = readSafetensors(file);
    expect(st.metadata).toEqual({});
    expect(st.names()).toEqual(['scalar', 'view', 'x.weight']);
    expect(st.get('x.weight').shape).toEqual([10, 100]);
    expect(st.get('x.weight').toFloat32()).toEqual(big);
    expect(Array.from(st.get('scalar').toFloat32())).toEqual([3.5]);
    expect(st.get('view').toFloat32()).toEqual(big.subarray(5, 7));
    expect(fs.readdirSync(tmp).filter((f) => f.includes('rt.safetensors.'))).toEqual([]);
  });

  it("keeps a tensor and a metadata key named '__proto__' (names are never plain-object keys)", () => {
    const file = path.join(tmp, 'proto.safetensors');
    writeSafetensors(
      file,
      [
        { name: '__proto__', shape: [2], data: Float32Array.from([1.5, -2]) },
        { name: 'constructor', shape: [1], data: Float32Array.from([7]) },
      ],
      JSON.parse('{"__proto__": "kept", "format": "pt"}'),
    );
    // The header, parsed here by hand: JSON.parse keeps '__proto__' as an own key.
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(Object.keys(header)).toEqual(['__metadata__', '__proto__', 'constructor']);
    expect(Object.keys(header.__metadata__)).toEqual(['__proto__', 'format']);
    expect(header['__proto__']).toEqual({ dtype: 'F32', shape: [2], data_offsets: [0, 8] });
    expect([...bytes.subarray(8 + n, 16 + n)]).toEqual([0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]);
    const st = readSafetensors(file);
    expect(st.names()).toEqual(['__proto__', 'constructor']);
    expect(Array.from(st.get('__proto__').toFloat32())).toEqual([1.5, -2]);
    expect(Object.entries(st.metadata)).toEqual([['__proto__', 'kept'], ['format', 'pt']]);
  });

  it('rejects bad input with the tensor named', () => {
    const file = path.join(tmp, 'bad.safetensors');
    expect(rhcErrorOf(() => writeSafetensors(file, [{ name: 'w', shape: [2, 2], data: new Float32Array(3) }])).message).toContain(
      "tensor 'w': shape [2, 2] holds 4 values but 3 were given",
    );
    const dup = { name: 'w', shape: [1], data: new Float32Array(1) };
    expect(rhcErrorOf(() => writeSafetensors(file, [dup, dup])).message).toContain("tensor 'w' is given twice");
    expect(rhcErrorOf(() => writeSafetensors(path.join(tmp, 'no/such/dir/x.safetensors'), [dup])).message).toContain('cannot write');
    expect(fs.existsSync(file)).toBe(false);
  });
});
