// ONNX has no regions: a fused node is inlined, each body op through its own lowering, so an
// export of a fused graph is the export of the graph it was fused from.

import { attrsOf } from '../../../src/ir/registry.ts';
import type { OnnxLowering } from '../emitter.ts';
import type { TensorType } from '../../../src/ir/types.ts';
import type { fusedOps } from '../../../src/ir/ops/fused.ts';
import { ONNX_LOWERINGS } from '../lowerings.ts'; // read at call time: the table includes this file

const inlineRegion: OnnxLowering = (ctx, n, inputs) => {
  const { body } = attrsOf(n, 'fused');
  const values = new Map<number, string>(body.args.map((a, i) => [a.id, inputs[i]]));
  const types = new Map<number, TensorType>(body.args.map((a) => [a.id, a.type]));
  for (const b of body.nodes) {
    values.set(b.id, ONNX_LOWERINGS[b.op](ctx, b, b.inputs.map((i) => values.get(i)!), b.inputs.map((i) => types.get(i)!)));
    types.set(b.id, b.type);
  }
  return values.get(body.output)!;
};

export const fusedLowerings: { [K in keyof typeof fusedOps]: OnnxLowering } = {
  fused: inlineRegion,
};
