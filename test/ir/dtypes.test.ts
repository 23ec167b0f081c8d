// The dtype table (src/ir/dtypes.ts) against the sources its columns name: the host arrays'
// own element sizes, ONNX's TensorProto.DataType enum (onnx-proto), safetensors' item sizes
// (src/io/safetensors-format.ts, from the format's spec), and the WGSL a kernel declares. And
// that sizes elsewhere come from the table, not from a 4.

import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { byteSize, DTYPE_NAMES, DTYPES, isDType } from '../../src/ir/dtypes.ts';
import { ITEM_SIZE, type SafetensorsDtype } from '../../src/io/safetensors-format.ts';
import { ELEM } from '../../backends/onnx/emitter.ts';
import { literal, wgslType } from '../../backends/webgpu/wgsl.ts';

const ONNX_NAMES: Record<string, string> = { f32: 'FLOAT', i32: 'INT32' };

describe('the dtype table', () => {
  it.each(DTYPE_NAMES)('%s: its columns agree with the host array, ONNX, safetensors and WGSL', (d) => {
    const t = DTYPES[d];
    expect(t.bytes).toBe(t.array.BYTES_PER_ELEMENT);
    expect(t.onnx).toBe(onnxProto.onnx.TensorProto.DataType[ONNX_NAMES[d] as keyof typeof onnxProto.onnx.TensorProto.DataType]);
    expect(ELEM[d]).toBe(t.onnx);
    expect(ITEM_SIZE[t.safetensors as SafetensorsDtype]).toBe(t.bytes);
    expect(wgslType(d)).toBe(t.wgsl);
    expect(wgslType(d, 4)).toBe(`vec4<${t.wgsl}>`);
    expect(t.float).toBe(t.array === Float32Array);
    expect(literal(d, 2)).toBe(t.float ? '2.0f' : '2i');
  });

  it('names only its own dtypes, and sizes by them', () => {
    expect(isDType('f32')).toBe(true);
    expect(isDType('f16')).toBe(false);
    expect(isDType('toString')).toBe(false); // not a key of Object.prototype
    expect(byteSize('f32', 10)).toBe(40);
    expect(byteSize('i32', 3)).toBe(12);
  });
});
