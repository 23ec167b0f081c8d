// Running exported models with onnxruntime-node on the CPU: rhc's fast CPU path, and how the
// tests check exports (every session is created with all graph optimisations enabled, as a
// serving runtime would).

import * as ort from 'onnxruntime-node';
import { RhcError } from '../../src/errors.ts';
import { LOGITS_OUTPUT, ONNX_IDS_INPUT } from '../../src/ir/calling-convention.ts';

export type OrtSession = ort.InferenceSession;

/** A session on a model file (external data is found beside it) or on the model's bytes. */
export async function openSession(model: string | Uint8Array): Promise<OrtSession> {
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

/** int64 input_ids [batch, seq] from i32 ids. */
export function idsTensor(ids: Int32Array, batch: number, seq: number): ort.Tensor {
  if (ids.length !== batch * seq) throw new RhcError(`${ids.length} token ids do not make a [${batch}, ${seq}] batch`);
  return new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [batch, seq]);
}

export function floatTensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

/** Runs the session; returns every output as float32 data with its dims. */
export async function runSession(
  session: OrtSession,
  feeds: Readonly<Record<string, ort.Tensor>>,
): Promise<Map<string, { data: Float32Array; dims: readonly number[] }>> {
  const results = await session.run(feeds as Record<string, ort.Tensor>);
  const out = new Map<string, { data: Float32Array; dims: readonly number[] }>();
  for (const [name, t] of Object.entries(results)) out.set(name, { data: t.data as Float32Array, dims: t.dims });
  return out;
}

export async function runLogits(session: OrtSession, ids: Int32Array, batch: number, seq: number): Promise<Float32Array> {
  const out = await runSession(session, { [ONNX_IDS_INPUT]: idsTensor(ids, batch, seq) });
  return out.get(LOGITS_OUTPUT)!.data;
}
