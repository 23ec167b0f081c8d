// The element types of the IR, one entry each, holding everything any part of rhc needs to
// know of one: its size, whether it is a float, its name in WGSL, in ONNX and in safetensors,
// and the typed array that holds it on the host. Code asks this table instead of assuming 4
// bytes or `f32`, so f16 (mixed precision, where the adapter has `shader-f16`) is an entry
// here plus what its kernels do differently, not a search through the backends.
//
// The names are plain data: the IR depends on no backend, each backend reads its column.

export interface DTypeInfo {
  /** bytes per element */
  readonly bytes: number;
  readonly float: boolean;
  /** the WGSL scalar type */
  readonly wgsl: string;
  /** ONNX TensorProto.DataType */
  readonly onnx: number;
  /** the safetensors dtype string */
  readonly safetensors: string;
  /** the host array that holds its elements */
  readonly array: Float32ArrayConstructor | Int32ArrayConstructor;
}

export const DTYPES = {
  f32: { bytes: 4, float: true, wgsl: 'f32', onnx: 1, safetensors: 'F32', array: Float32Array },
  i32: { bytes: 4, float: false, wgsl: 'i32', onnx: 6, safetensors: 'I32', array: Int32Array },
} as const satisfies Readonly<Record<string, DTypeInfo>>;

export type DType = keyof typeof DTYPES;

export const DTYPE_NAMES = Object.keys(DTYPES) as DType[];

export function isDType(name: unknown): name is DType {
  return typeof name === 'string' && Object.hasOwn(DTYPES, name);
}

/** Bytes of `elements` elements of `dtype`. */
export function byteSize(dtype: DType, elements: number): number {
  return DTYPES[dtype].bytes * elements;
}
