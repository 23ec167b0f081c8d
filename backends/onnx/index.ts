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
import { writingFiles } from '../../src/io/files.ts';

export { DEFAULT_OPSET, renderModel } from './render.ts';
export { openSession, runLogits, runSession, idsTensor, floatTensor } from './runner.ts';

export interface ExportOptions {
  /** add past_key_values inputs and present outputs (the kv-cache pass) */
  withPast?: boolean;
  opset?: number;
  /** the spec the graph came from (metadata) */
  specName: string;
  /** the Hugging Face config.json the model corresponds to (metadata) */
  hfConfig: Record<string, unknown>;
  outPath: string;
  /** initializer bytes above which external data is used; tests lower it */
  externalDataThreshold?: number;
}

export interface ExportResult {
  /** bytes written: the .onnx file plus its external data file, if any */
  bytes: number;
  externalData: boolean;
}

export const RHC_VERSION: string = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

/** How the exported model's positions work, for metadata and docs. */
const POSITIONS_NOTE =
  'positions are computed in the graph as past_sequence .. past_sequence+sequence-1 (0-based); ' +
  'there is no attention_mask or position_ids input, so every row of a batch must hold real tokens (no padding)';

/** The IR the export renders: the standard pipeline (tables included), plus the KV cache when asked. */
export function prepareForOnnx(graph: Graph, withPast = false): Graph {
  return runPipeline(graph, { tabulate: true, kvCache: withPast });
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

/** Writes `model` to `outPath`, moving initializers to `<outPath>.data` when they exceed the threshold. */
function writeModel(model: onnx.IModelProto, outPath: string, threshold: number): ExportResult {
  fs.mkdirSync(path.dirname(path.resolve(outPath)), { recursive: true });
  const dataFile = `${outPath}.data`;
  let bytes = 0;
  const externalData = initializerBytes(model) > threshold;
  if (externalData) bytes += writeExternalData(dataFile, externalise(model, path.basename(dataFile)));
  else fs.rmSync(dataFile, { force: true }); // a stale side file from an earlier export would mislead
  const proto = encode(model);
  fs.writeFileSync(outPath, proto);
  return { bytes: bytes + proto.byteLength, externalData };
}

export async function exportOnnx(graph: Graph, weights: ReadonlyMap<string, Float32Array>, opts: ExportOptions): Promise<ExportResult> {
  const withPast = opts.withPast ?? false;
  const model = renderModel(prepareForOnnx(graph, withPast), weights, {
    opset: opts.opset ?? DEFAULT_OPSET,
    metadata: onnxMetadata(opts.specName, opts.hfConfig, withPast),
    producerVersion: RHC_VERSION,
  });
  return writingFiles(opts.outPath, () => writeModel(model, opts.outPath, opts.externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD));
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
