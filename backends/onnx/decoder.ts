// Incremental decoding on onnxruntime-node: the decoder-with-past export (kv-cache pass),
// one session, present.* fed back as past_key_values.* (batch 1). rhc's fast CPU generator.

import type { Graph } from '../../src/ir/graph.ts';
import { checkAppend, emptyPastShape, type Decoder } from '../../src/runtime/decoder.ts';
import { LOGITS_OUTPUT, ONNX_IDS_INPUT, parsePast, presentFor } from '../../src/ir/calling-convention.ts';
import { openSession, runSession, idsTensor, floatTensor, type FeedTensor, type OrtSession } from './runner.ts';
import { prepareForOnnx, RHC_VERSION } from './index.ts';
import { renderModel } from './render.ts';
import onnxProto from 'onnx-proto';

export async function onnxDecoder(graph: Graph, weights: ReadonlyMap<string, Float32Array>): Promise<Decoder> {
  // Logits [1, 1, vocab]: ln_f and the lm_head run on the last position only.
  const prepared = prepareForOnnx(graph, true, true);
  const model = renderModel(prepared, weights, { producerVersion: RHC_VERSION });
  const session: OrtSession = await openSession(onnxProto.onnx.ModelProto.encode(model).finish());
  // [B, H, P, D] each, as the kv-cache pass made them
  const pastInputs = prepared.nodes.filter((n) => n.op === 'input' && parsePast(String(n.attrs.name)));
  const capacity = graph.config.n_positions as number;
  const vocab = graph.config.vocab_size as number;
  let past: Record<string, FeedTensor> = {};
  let length = 0;
  const reset = () => {
    past = Object.fromEntries(pastInputs.map((n) => [n.attrs.name as string, floatTensor(new Float32Array(0), emptyPastShape(n.type.shape))]));
    length = 0;
  };
  reset();
  return {
    get length() {
      return length;
    },
    capacity,
    async append(ids) {
      checkAppend(ids, length, capacity);
      const out = await runSession(session, { [ONNX_IDS_INPUT]: idsTensor(Int32Array.from(ids), 1, ids.length), ...past });
      past = Object.fromEntries(pastInputs.map((n) => {
        const name = n.attrs.name as string;
        const t = out.get(presentFor(name)!)!;
        return [name, floatTensor(t.data, t.dims)];
      }));
      length += ids.length;
      const logits = out.get(LOGITS_OUTPUT)!.data;
      return logits.slice(logits.length - vocab);
    },
    reset,
    dispose() {
      void session.release();
    },
  };
}
