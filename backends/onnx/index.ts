// The ONNX backend's library API (the CLI's `compile --target onnx` and `forward --backend onnx`
// call these): run the passes, render the model, write it (with external data above 2 GiB) or
// run it with onnxruntime-node.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import type { Graph } from '../../src/ir/graph.ts';
import { runPipeline } from '../../src/passes/pipeline.ts';
import { DEFAULT_OPSET, renderModel } from './render.ts';
import { EXTERNAL_DATA_THRESHOLD, externalise, initializerBytes, writeExternalData } from './external-data.ts';
import { openSession, runLogits } from './runner.ts';
import { openRegularFile, stageFile, withOutputLock, writingFiles, type StagedFile } from '../../src/io/files.ts';
import { RhcError } from '../../src/errors.ts';
import { PACKAGE_VERSION } from '../../src/package.ts';

export { DEFAULT_OPSET, renderModel } from './render.ts';
export { openSession, runLogits, runSession, idsTensor, floatTensor, type FeedTensor } from './runner.ts';

export interface ExportOptions {
  /** add past_key_values inputs and present outputs (the kv-cache pass) */
  withPast?: boolean;
  opset?: number;
  /** the spec the graph came from (metadata) */
  specName: string;
  /** the Hugging Face config.json the model corresponds to (metadata) */
  hfConfig: Record<string, unknown>;
  outPath: string;
  /** replace an existing file at outPath even when rhc did not write it */
  force?: boolean;
  /** initializer bytes above which external data is used; tests lower it */
  externalDataThreshold?: number;
}

export interface ExportResult {
  /** bytes written: the .onnx file plus its external data file, if any */
  bytes: number;
  externalData: boolean;
}

export const RHC_VERSION: string = PACKAGE_VERSION;

/** How the exported model's positions work, for metadata and docs. */
const POSITIONS_NOTE =
  'positions are computed in the graph as past_sequence .. past_sequence+sequence-1 (0-based); ' +
  'there is no attention_mask or position_ids input, so every row of a batch must hold real tokens (no padding)';

/**
 * The IR the export renders: the standard pipeline (tables included), plus the KV cache when
 * asked, and logits of the last position only (`last-position`) when asked: rhc's own decoder
 * does, a plain `--with-past` export keeps Optimum's logits [batch, sequence, vocab].
 */
export function prepareForOnnx(graph: Graph, withPast = false, lastPosition = false): Graph {
  // Fused like every backend's graph; the renderer inlines each region (ops/fused.ts), so the
  // export is the same standard ops, and a rule that reorders nothing changes nothing here.
  return runPipeline(graph, { tabulate: true, kvCache: withPast, lastPosition, fuse: true });
}

export function onnxMetadata(specName: string, hfConfig: Record<string, unknown>, withPast: boolean): Record<string, string> {
  return {
    rhc_version: RHC_VERSION,
    rhc_spec: specName,
    hf_config: JSON.stringify(hfConfig),
    rhc_with_past: String(withPast),
    rhc_positions: POSITIONS_NOTE,
  };
}

function encode(model: onnx.IModelProto): Uint8Array {
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

/**
 * True when `file` is an ONNX model rhc wrote: protobuf field 1 (ir_version, a varint) then field 2
 * (producer_name) = "rhc", as renderModel orders them. Only such a file is replaced without --force.
 */
export function isRhcOnnxFile(file: string): boolean {
  let head: Buffer;
  try {
    const { fd } = openRegularFile(file);
    try {
      head = Buffer.alloc(16);
      head = head.subarray(0, fs.readSync(fd, head, 0, 16, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  let i = 0;
  if (head[i++] !== 0x08) return false;
  while (i < head.length && head[i] & 0x80) i++;
  i++;
  return head.subarray(i, i + 5).equals(Buffer.from([0x12, 0x03, 0x72, 0x68, 0x63]));
}

/** Refuses to replace an .onnx (or its .data side file) that rhc did not write, unless forced. */
function checkReplaceable(outPath: string, force: boolean): void {
  if (force) return;
  const dataFile = `${outPath}.data`;
  const ours = isRhcOnnxFile(outPath);
  if (fs.existsSync(outPath) && !ours)
    throw new RhcError(`${outPath} exists and is not an ONNX model rhc wrote; refusing to replace it (use --force to overwrite)`);
  if (fs.existsSync(dataFile) && !ours)
    throw new RhcError(`${dataFile} exists beside no ONNX model of rhc's; refusing to replace it (use --force to overwrite)`);
}

/**
 * Writes `model` to `outPath`, moving initializers to `<outPath>.data` when they exceed the
 * threshold. Both files are written in full under temporary names first; then the old model is
 * removed before the new data file takes its place, so no moment pairs an old .onnx with new data.
 */
function writeModel(model: onnx.IModelProto, outPath: string, threshold: number): ExportResult {
  writingFiles(outPath, () => fs.mkdirSync(path.dirname(path.resolve(outPath)), { recursive: true }));
  const dataFile = `${outPath}.data`;
  const staged: StagedFile[] = [];
  try {
    let bytes = 0;
    const externalData = initializerBytes(model) > threshold;
    if (externalData) {
      const chunks = externalise(model, path.basename(dataFile));
      staged.push(stageFile(dataFile, (fd) => (bytes += writeExternalData(fd, chunks))));
    }
    const proto = encode(model);
    staged.push(stageFile(outPath, proto));
    writingFiles(outPath, () => {
      if (externalData) fs.rmSync(outPath, { force: true });
      for (const f of staged.splice(0)) f.commit();
      // A stale side file from an earlier export would mislead whoever reads the folder.
      if (!externalData) fs.rmSync(dataFile, { force: true });
    });
    return { bytes: bytes + proto.byteLength, externalData };
  } finally {
    for (const f of staged) f.abort();
  }
}

export async function exportOnnx(graph: Graph, weights: ReadonlyMap<string, Float32Array>, opts: ExportOptions): Promise<ExportResult> {
  const withPast = opts.withPast ?? false;
  // Refused before rendering: a big model takes seconds to render only to be thrown away.
  checkReplaceable(opts.outPath, opts.force ?? false);
  return withOutputLock(opts.outPath, () => {
    checkReplaceable(opts.outPath, opts.force ?? false);
    const model = renderModel(prepareForOnnx(graph, withPast), weights, {
      opset: opts.opset ?? DEFAULT_OPSET,
      metadata: onnxMetadata(opts.specName, opts.hfConfig, withPast),
      producerVersion: RHC_VERSION,
    });
    return writeModel(model, opts.outPath, opts.externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD);
  });
}

/** Logits [batch, seq, vocab] of `ids` [batch, seq] with onnxruntime-node on the CPU. */
export async function runOnnx(graph: Graph, weights: ReadonlyMap<string, Float32Array>, ids: Int32Array, batch: number, seq: number): Promise<Float32Array> {
  const model = renderModel(prepareForOnnx(graph), weights, { producerVersion: RHC_VERSION });
  if (initializerBytes(model) <= EXTERNAL_DATA_THRESHOLD) {
    const session = await openSession(encode(model));
    try {
      return await runLogits(session, ids, batch, seq);
    } finally {
      await session.release();
    }
  }
  // Too big for one protobuf message: go through a temporary file with external data.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-onnx-'));
  try {
    const file = path.join(dir, 'model.onnx');
    writeModel(model, file, EXTERNAL_DATA_THRESHOLD);
    const session = await openSession(file);
    try {
      return await runLogits(session, ids, batch, seq);
    } finally {
      await session.release();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
