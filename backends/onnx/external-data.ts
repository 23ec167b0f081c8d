// ONNX external data: a protobuf message cannot exceed 2 GiB, so bigger models keep their
// initializers' bytes in a side file (`model.onnx.data`) that each TensorProto points into with
// location/offset/length entries, as onnx.save_model(save_as_external_data=True) does.

import * as fs from 'node:fs';
import type { onnx } from 'onnx-proto';

/** Above this many initializer bytes the export uses external data (2 GiB less room for the graph). */
export const EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 26;
/** Smaller tensors stay inline (the onnx package's default size_threshold). */
const MIN_EXTERNAL_BYTES = 1024;
/** Offsets are page-aligned so runtimes may memory-map the file. */
const ALIGN = 4096;

export interface ExternalChunk {
  readonly offset: number;
  readonly data: Uint8Array;
}

export function initializerBytes(model: onnx.IModelProto): number {
  return (model.graph?.initializer ?? []).reduce((s, t) => s + (t.rawData?.byteLength ?? 0), 0);
}

/** Moves the big initializers' bytes out of `model` (in place) and returns them with their offsets. */
export function externalise(model: onnx.IModelProto, location: string): ExternalChunk[] {
  const chunks: ExternalChunk[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    const data = t.rawData;
    if (!data || data.byteLength < MIN_EXTERNAL_BYTES) continue;
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    chunks.push({ offset, data });
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.byteLength) },
    ];
    t.dataLocation = 1; // TensorProto.DataLocation.EXTERNAL
    t.rawData = null;
    offset += data.byteLength;
  }
  return chunks;
}

/** Writes the chunks at their offsets to an open file; returns the file's size. */
export function writeExternalData(fd: number, chunks: readonly ExternalChunk[]): number {
  let size = 0;
  for (const c of chunks) {
    let done = 0;
    while (done < c.data.byteLength) done += fs.writeSync(fd, c.data, done, c.data.byteLength - done, c.offset + done);
    size = Math.max(size, c.offset + c.data.byteLength);
  }
  return size;
}
