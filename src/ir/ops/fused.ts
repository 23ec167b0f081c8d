// A fused region: one node standing for a sub-graph that a backend runs as one kernel (an XLA
// fusion, a tinygrad kernel). src/passes/fuse.ts builds regions from the rules in
// src/passes/fusion-rules.ts; `rule` names the one that made it, which is how a backend picks
// its kernel for the region (any region it has no kernel for, it renders op by op). The
// semantics are the body's, evaluated with the body ops' own reference rules; the gradient of
// a region is its body's (autodiff inlines it).

import { defineOps, getOp } from '../registry.ts';
import { shapeEq } from '../dims.ts';
import { isRegion, type Region } from '../graph.ts';
import { OpTypeError, typeToString, type TensorType } from '../types.ts';
import type { RefTensor } from '../reference.ts';

export interface FusedAttrs {
  /** the fusion rule that built the region (src/passes/fusion-rules.ts) */
  rule: string;
  body: Region;
}

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && shapeEq(a.shape, b.shape);
}

function regionNode(body: Region, id: number) {
  const n = body.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`internal: region has no node %${id}`);
  return n;
}

export const fusedOps = defineOps({
  fused: {
    name: 'fused',
    summary: 'a region of ops run as one kernel; its value is its body\'s',
    category: 'composite',
    arity: [0, Infinity],
    pure: true,
    inferType: (inputs, a: FusedAttrs) => {
      if (!isRegion(a.body)) throw new OpTypeError('fused: the body attribute is not a region');
      if (inputs.length !== a.body.args.length)
        throw new OpTypeError(`fused (${a.rule}): ${inputs.length} inputs for a body of ${a.body.args.length} arguments`);
      inputs.forEach((t, i) => {
        const want = a.body.args[i].type;
        if (!sameType(t, want)) throw new OpTypeError(`fused (${a.rule}): input ${i} is ${typeToString(t)}, the body expects ${typeToString(want)}`);
      });
      return regionNode(a.body, a.body.output).type;
    },
    evaluate: (inputs, a: FusedAttrs, env) => {
      const values = new Map<number, RefTensor>(a.body.args.map((arg, i) => [arg.id, inputs[i]]));
      for (const n of a.body.nodes) values.set(n.id, getOp(n.op).evaluate(n.inputs.map((x) => values.get(x)!), n.attrs, env));
      return values.get(a.body.output)!;
    },
  },
});
