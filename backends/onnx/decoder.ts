// Incremental decoding on onnxruntime-node: the decoder-with-past export (kv-cache pass),
// one session, present.* fed back as past_key_values.* (batch 1). rhc's fast CPU generator.

import type { Graph } from '../../src/ir/graph.ts';
import { RhcError } from '../../src/dsl/diagnostics.ts';
import type { Decoder } from '../../src/runtime/decoder.ts';
import { PAST_PREFIX, PRESENT_PREFIX } from '../../src/passes/kv-cache.ts';
import { openSession, runSession, idsTensor, floatTensor, type OrtSession } from './runner.ts';
import { prepareForOnnx, RHC_VERSION } from './index.ts';
import { renderModel } from './render.ts';
import onnxProto from 'onnx-proto';

export async function onnxDecoder(graph: Graph, weights: ReadonlyMap<string, Float32Array>): Promise<Decoder> {
  const model = renderModel(prepareForOnnx(graph, true), weights, { producerVersion: RHC_VERSION });
  const session: OrtSession = await openSession(onnxProto.onnx.ModelProto.encode(model).finish());
  const pastNames = session.inputNames.filter((n) => n.startsWith(`${PAST_PREFIX}.`));
  const capacity = graph.config.n_positions as number;
  const vocab = graph.config.vocab_size as number;
  const heads = graph.config.n_head as number;
  const headDim = (graph.config.n_embd as number) / heads;
  let past: Record<string, ReturnType<typeof floatTensor>> = {};
  let length = 0;
  const reset = () => {
    past = Object.fromEntries(pastNames.map((n) => [n, floatTensor(new Float32Array(0), [1, heads, 0, headDim])]));
    length = 0;
  };
  reset();
  return {
    get length() {
      return length;
    },
    capacity,
    async append(ids) {
      if (ids.length === 0) throw new RhcError('append needs at least one token');
      if (length + ids.length > capacity) throw new RhcError(`the sequence would reach ${length + ids.length} tokens; the model holds ${capacity} (n_positions)`);
      const out = await runSession(session, { input_ids: idsTensor(Int32Array.from(ids), 1, ids.length), ...past });
      past = Object.fromEntries(pastNames.map((n) => {
        const t = out.get(PRESENT_PREFIX + n.slice(PAST_PREFIX.length))!;
        return [n, floatTensor(t.data, t.dims)];
      }));
      length += ids.length;
      const logits = out.get('logits')!.data;
      return logits.slice(logits.length - vocab);
    },
    reset,
    dispose() {
      void session.release();
    },
  };
}
