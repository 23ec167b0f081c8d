// The reference interpreter: runs a graph node by node with each op's reference semantics.
// It is the oracle for every backend, so it favours clarity over speed.

import type { Graph } from '../../ir/graph.ts';
import { getOp } from '../../ir/registry.ts';
import { dimEval, dimToString, type Dim } from '../../ir/dims.ts';
import type { EvalEnv, Precision, RefTensor } from '../../ir/reference.ts';
import { RhcError } from '../../errors.ts';

export interface RunOptions {
  precision?: Precision;
  /** input name -> tensor */
  inputs: ReadonlyMap<string, RefTensor>;
  /** parameter name -> tensor (shapes are checked) */
  params: ReadonlyMap<string, RefTensor>;
}

/** Binds symbolic dims from the inputs' shapes and checks every concrete dim. */
function bindDims(g: Graph, inputs: ReadonlyMap<string, RefTensor>): Map<string, number> {
  const dims = new Map<string, number>();
  for (const n of g.nodes) {
    if (n.op !== 'input') continue;
    const name = n.attrs.name as string;
    const t = inputs.get(name);
    if (!t) throw new RhcError(`missing input '${name}' (${n.type.dtype}[${n.type.shape.map(dimToString).join(', ')}])`);
    const want = n.type.shape as Dim[];
    if (t.shape.length !== want.length)
      throw new RhcError(`input '${name}' has rank ${t.shape.length}, expected [${want.map(dimToString).join(', ')}]`);
    want.forEach((d, i) => {
      if (typeof d === 'number') {
        if (d !== t.shape[i]) throw new RhcError(`input '${name}' axis ${i} is ${t.shape[i]}, expected ${d}`);
      } else {
        const key = dimToString(d);
        const seen = dims.get(key);
        if (seen !== undefined && seen !== t.shape[i])
          throw new RhcError(`input '${name}' axis ${i} is ${t.shape[i]}, but ${key} is ${seen} elsewhere`);
        dims.set(key, t.shape[i]);
      }
    });
  }
  return dims;
}

/** The parameters of `g` as host tensors, shaped as the graph declares them; a missing weight is an error. */
export function paramTensors(g: Graph, weights: ReadonlyMap<string, Float32Array>): Map<string, RefTensor> {
  const params = new Map<string, RefTensor>();
  for (const n of g.nodes) {
    if (n.op !== 'param') continue;
    const name = n.attrs.name as string;
    const data = weights.get(name);
    if (!data) throw new RhcError(`missing parameter '${name}'`);
    params.set(name, { dtype: 'f32', shape: n.type.shape as number[], data });
  }
  return params;
}

export function interpret(g: Graph, opts: RunOptions): Map<string, RefTensor> {
  const dims = bindDims(g, opts.inputs);
  const env: EvalEnv = {
    precision: opts.precision ?? 'f32',
    dims,
    value: (name) => opts.inputs.get(name) ?? opts.params.get(name),
  };
  const values = new Map<number, RefTensor>();
  const lastUse = new Map<number, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((x) => lastUse.set(x, i)));
  const outputs = new Set(g.outputs.map((o) => o.id));
  g.nodes.forEach((n, i) => {
    if (n.op === 'param') checkParam(n.attrs.name as string, n.type.shape as Dim[], opts.params, dims);
    let result: RefTensor;
    try {
      result = getOp(n.op).evaluate(n.inputs.map((x) => values.get(x)!), n.attrs, env);
    } catch (e) {
      if (e instanceof RangeError) throw new RhcError(`${e.message}${n.hint ? ` (in ${n.hint})` : ''}`);
      throw e;
    }
    values.set(n.id, result);
    // Free intermediates after their last use: GPT-2 medium activations add up on the host.
    for (const x of n.inputs) if (lastUse.get(x) === i && !outputs.has(x)) values.delete(x);
  });
  return new Map(g.outputs.map((o) => [o.name, values.get(o.id)!]));
}

function checkParam(name: string, shape: Dim[], params: ReadonlyMap<string, RefTensor>, dims: Map<string, number>): void {
  const t = params.get(name);
  if (!t) throw new RhcError(`missing parameter '${name}'`);
  const want = shape.map((d) => dimEval(d, dims));
  if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i]))
    throw new RhcError(`parameter '${name}' has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`);
}
