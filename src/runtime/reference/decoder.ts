// Incremental decoding on the reference interpreter: the graph after the kv-cache pass takes
// the cached keys/values as inputs and returns them extended, so each step feeds only the new
// tokens at their absolute positions. Slow but exact: the oracle for the GPU decoders.

import type { Graph } from '../../ir/graph.ts';
import type { Precision, RefTensor } from '../../ir/reference.ts';
import { runPipeline } from '../../passes/pipeline.ts';
import { IDS_INPUT, LOGITS_OUTPUT, parsePast, POSITIONS_INPUT, presentFor } from '../../ir/calling-convention.ts';
import { checkAppend, emptyPastShape, positions, type Decoder } from '../decoder.ts';
import { interpret, paramTensors } from './interpreter.ts';

export function referenceDecoder(graph: Graph, weights: ReadonlyMap<string, Float32Array>, precision: Precision = 'f32'): Decoder {
  // Only the next token's logits are wanted: ln_f and the lm_head run on the last position alone.
  const cached = runPipeline(graph, { tabulate: false, kvCache: true, lastPosition: true });
  const params = paramTensors(cached, weights);
  const pastInputs = cached.nodes.filter((n) => n.op === 'input' && parsePast(String(n.attrs.name)));
  const capacity = graph.config.n_positions as number;
  const vocab = graph.config.vocab_size as number;
  let past = new Map<string, RefTensor>();
  let length = 0;

  const empty = (): Map<string, RefTensor> =>
    new Map(pastInputs.map((n) => [n.attrs.name as string, { dtype: 'f32' as const, shape: emptyPastShape(n.type.shape), data: new Float32Array(0) }]));
  past = empty();

  return {
    get length() {
      return length;
    },
    capacity,
    async append(ids) {
      checkAppend(ids, length, capacity);
      const inputs = new Map<string, RefTensor>([
        [IDS_INPUT, { dtype: 'i32', shape: [1, ids.length], data: Int32Array.from(ids) }],
        [POSITIONS_INPUT, { dtype: 'i32', shape: [ids.length], data: positions(ids.length, length) }],
        ...past,
      ]);
      const out = interpret(cached, { inputs, params, precision });
      past = new Map(pastInputs.map((n) => {
        const name = n.attrs.name as string;
        return [name, out.get(presentFor(name)!)!];
      }));
      length += ids.length;
      const logits = out.get(LOGITS_OUTPUT)!.data; // [1, 1, vocab]
      return Float32Array.from(logits.subarray(logits.length - vocab));
    },
    reset() {
      past = empty();
      length = 0;
    },
    dispose() {
      past.clear();
    },
  };
}
