// Reverse-mode automatic differentiation as an IR pass (the shape of tinygrad's
// compute_gradient): from a scalar output, walk the graph backwards, asking each op's gradient
// rule (the `vjp` of its definition, src/ir/vjp.ts) for the gradients of its inputs, and sum
// the gradients of a value read several times. The result is the forward graph plus one
// output `grad.<name>` per parameter: a graph like any other, so the same passes, fusion rules
// and backends run it.

import type { Graph, Node } from '../ir/graph.ts';
import { attrsOf, getOp, isOpName } from '../ir/registry.ts';
import { DTYPES } from '../ir/dtypes.ts';
import { scalar, zeros, type GradGraph } from '../ir/vjp.ts';
import { typeToString } from '../ir/types.ts';
import { shapeEq } from '../ir/dims.ts';
import { RhcError } from '../errors.ts';
import { Rewriter } from './rewrite.ts';

/** The output of the gradient of parameter `name`. */
export const gradOutputName = (name: string) => `grad.${name}`;

export interface GradientOptions {
  /** the graph output to differentiate: a scalar (the loss) */
  loss: string;
  /** parameters to differentiate with respect to (default: every float parameter) */
  params?: readonly string[];
}

export function gradients(g: Graph, opts: GradientOptions): Graph {
  const loss = g.outputs.find((o) => o.name === opts.loss);
  if (!loss) throw new RhcError(`autodiff: the graph has no output '${opts.loss}' (outputs: ${g.outputs.map((o) => o.name).join(', ')})`);
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const lossNode = byId.get(loss.id)!;
  if (lossNode.type.shape.length !== 0 || !DTYPES[lossNode.type.dtype].float)
    throw new RhcError(`autodiff: the loss '${opts.loss}' must be a float scalar, it is ${typeToString(lossNode.type)}`);
  const params = g.nodes.filter((n) => n.op === 'param' && DTYPES[n.type.dtype].float && (!opts.params || opts.params.includes(attrsOf(n, 'param').name)));
  if (opts.params) {
    const missing = opts.params.filter((p) => !params.some((n) => attrsOf(n, 'param').name === p));
    if (missing.length) throw new RhcError(`autodiff: no float parameter named ${missing.map((m) => `'${m}'`).join(', ')}`);
  }

  // Values that depend on a parameter: only their gradients are built.
  const varies = new Set(params.map((p) => p.id));
  for (const n of g.nodes) if (n.op !== 'param' && DTYPES[n.type.dtype].float && n.inputs.some((i) => varies.has(i))) varies.add(n.id);

  const rw = new Rewriter(g);
  for (const n of g.nodes) rw.keep(n);
  const builder: GradGraph = {
    add: (op, inputs, attrs = {}) => {
      if (!isOpName(op)) throw new Error(`internal: a gradient rule added unknown op '${op}'`);
      return rw.add(op, inputs, attrs);
    },
    type: (id) => rw.type(id),
  };

  const grads = new Map<number, number>();
  const accumulate = (id: number, grad: number) => {
    const prev = grads.get(id);
    grads.set(id, prev === undefined ? grad : rw.add('add', [prev, grad]));
  };
  accumulate(loss.id, scalar(builder, 1));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    const dy = grads.get(n.id);
    if (dy === undefined || n.op === 'param' || !n.inputs.some((x) => varies.has(x))) continue;
    const rule = getOp(n.op).vjp;
    if (!rule) throw new RhcError(`autodiff: ${describe(n)} has no gradient rule yet`);
    const dxs = rule(builder, { inputs: n.inputs, output: n.id, attrs: n.attrs, wants: (k) => varies.has(n.inputs[k]) }, dy);
    n.inputs.forEach((x, k) => {
      const dx = dxs[k];
      if (dx === undefined || !varies.has(x)) return;
      if (!shapeEq(rw.type(dx).shape, rw.type(x).shape))
        throw new Error(`internal: the gradient rule of ${describe(n)} gave ${typeToString(rw.type(dx))} for input ${k}, ${typeToString(rw.type(x))}`);
      accumulate(x, dx);
    });
  }
  const outputs = params.map((p) => ({ name: gradOutputName(attrsOf(p, 'param').name), id: grads.get(p.id) ?? zeros(builder, p.type) }));
  return rw.finish({ outputs });
}

function describe(n: Node): string {
  return `op ${n.op} (%${n.id}${n.hint ? `, ${n.hint}` : ''})`;
}
