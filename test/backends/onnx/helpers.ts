// Shared by the ONNX backend tests: temp files, reading back an exported model.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function readModel(file: string): onnx.ModelProto {
  return onnxProto.onnx.ModelProto.decode(fs.readFileSync(file));
}

/** Declared dims of a graph input/output: numbers, or dim_param names. */
export function declaredShape(v: onnx.IValueInfoProto): (number | string)[] {
  return (v.type!.tensorType!.shape!.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
}

export function initializerShapes(model: onnx.IModelProto): Map<string, number[]> {
  return new Map((model.graph!.initializer ?? []).map((t) => [t.name!, (t.dims ?? []).map(Number)]));
}

export function metadata(model: onnx.IModelProto): Map<string, string> {
  return new Map((model.metadataProps ?? []).map((p) => [p.key!, p.value!]));
}
