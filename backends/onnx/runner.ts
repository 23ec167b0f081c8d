// Running exported models with onnxruntime-node on the CPU: rhc's fast CPU path, and how the
// tests check exports (every session is created with all graph optimisations enabled, as a
// serving runtime would).
//
// onnxruntime-node is a native library of ~20 MB, loaded on the first session only: an export
// never runs it, and must not fail, or cost its load, when the library cannot be mapped (a
// process under an address-space limit, a platform without a prebuilt binary).

import type * as Ort from 'onnxruntime-node';
import { RhcError } from '../../src/errors.ts';
import { LOGITS_OUTPUT, ONNX_IDS_INPUT } from '../../src/ir/calling-convention.ts';

export type OrtSession = Ort.InferenceSession;

/** A feed before onnxruntime is loaded: its element type, data and dims. */
export interface FeedTensor {
  type: 'int64' | 'int32' | 'float32';
  data: BigInt64Array | Int32Array | Float32Array;
  dims: readonly number[];
}

let ortModule: Promise<typeof Ort> | undefined;

/** onnxruntime-node, loaded once; a failure to load it is an RhcError that says why. */
function loadOrt(): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-node').catch((e: unknown) => {
    ortModule = undefined; // a later call may succeed (the failure can be transient memory pressure)
    throw new RhcError(`cannot load onnxruntime-node, which runs ONNX models on the CPU: ${(e as Error)?.message ?? String(e)}`);
  });
  return ortModule;
}

/** A session on a model file (external data is found beside it) or on the model's bytes. */
export async function openSession(model: string | Uint8Array): Promise<OrtSession> {
  const ort = await loadOrt();
  const options: Ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

/** int64 input_ids [batch, seq] from i32 ids. */
export function idsTensor(ids: Int32Array, batch: number, seq: number): FeedTensor {
  if (ids.length !== batch * seq) throw new RhcError(`${ids.length} token ids do not make a [${batch}, ${seq}] batch`);
  return { type: 'int64', data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [batch, seq] };
}

export function floatTensor(data: Float32Array, dims: readonly number[]): FeedTensor {
  return { type: 'float32', data, dims };
}

/** Runs the session; returns every output as float32 data with its dims. */
export async function runSession(
  session: OrtSession,
  feeds: Readonly<Record<string, FeedTensor>>,
): Promise<Map<string, { data: Float32Array; dims: readonly number[] }>> {
  const ort = await loadOrt(); // loaded already: the session exists
  const tensors: Record<string, Ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) tensors[name] = new ort.Tensor(f.type, f.data, f.dims);
  const results = await session.run(tensors);
  const out = new Map<string, { data: Float32Array; dims: readonly number[] }>();
  for (const [name, t] of Object.entries(results)) out.set(name, { data: t.data as Float32Array, dims: t.dims });
  return out;
}

export async function runLogits(session: OrtSession, ids: Int32Array, batch: number, seq: number): Promise<Float32Array> {
  const out = await runSession(session, { [ONNX_IDS_INPUT]: idsTensor(ids, batch, seq) });
  return out.get(LOGITS_OUTPUT)!.data;
}
