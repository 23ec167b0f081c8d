// Values that enter the graph: run-time inputs, learnable parameters, constants, index ramps.

import { defineOps } from '../registry.ts';
import type { Dim } from '../dims.ts';
import { dimEval } from '../dims.ts';
import { OpTypeError, type DType, tensorType } from '../types.ts';
import type { InitSpec } from '../graph.ts';
import { alloc, fromArray, type EvalEnv, type RefTensor } from '../reference.ts';

export interface InputAttrs { name: string; dtype: DType; shape: readonly Dim[] }
export interface ParamAttrs { name: string; dtype: DType; shape: readonly Dim[]; init: InitSpec }
/**
 * A constant: a scalar (`value`) as the front end writes them, or a dense tensor (`shape` and
 * row-major `data`) as constant folding and position tabulation produce them.
 */
export type ConstAttrs =
  | { dtype: DType; value: number }
  | { dtype: DType; shape: readonly number[]; data: readonly number[] };
export interface IotaAttrs { length: Dim }

/** Sources read their value from the environment the interpreter (or runtime) provides. */
function fed(kind: string) {
  return (_: readonly RefTensor[], attrs: { name: string }, env: EvalEnv): RefTensor => {
    const v = env.value?.(attrs.name);
    if (!v) throw new Error(`internal: no value fed for ${kind} '${attrs.name}'`);
    return v;
  };
}

export const sourceOps = defineOps({
  input: {
    name: 'input',
    summary: 'a run-time input of the graph (token ids, positions)',
    category: 'source',
    arity: [0, 0],
    pure: false,
    inferType: (_, a: InputAttrs) => tensorType(a.dtype, a.shape),
    evaluate: fed('input'),
  },
  param: {
    name: 'param',
    summary: 'a learnable parameter, named as in the checkpoint',
    category: 'source',
    arity: [0, 0],
    pure: false,
    inferType: (_, a: ParamAttrs) => tensorType(a.dtype, a.shape),
    evaluate: fed('param'),
  },
  const: {
    name: 'const',
    summary: 'a constant scalar or dense tensor',
    category: 'source',
    arity: [0, 0],
    pure: true,
    inferType: (_, a: ConstAttrs) => {
      const values = 'data' in a ? a.data : [a.value];
      const shape = 'data' in a ? a.shape : [];
      if ('data' in a) {
        const n = shape.reduce((p, d) => p * d, 1);
        if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new OpTypeError(`const: bad shape [${shape.join(', ')}]`);
        if (n !== values.length) throw new OpTypeError(`const: ${values.length} values for shape [${shape.join(', ')}]`);
      }
      if (a.dtype === 'i32') {
        // ±Infinity passes, as it always did for scalar constants (a mask value, say).
        const bad = values.find((v) => !Number.isInteger(v) && Math.abs(v) !== Infinity);
        if (bad !== undefined) throw new OpTypeError(`const: ${bad} is not an integer`);
      }
      return tensorType(a.dtype, shape);
    },
    evaluate: (_, a: ConstAttrs, env) =>
      'data' in a ? fromArray(a.dtype, a.shape, a.data, env) : fromArray(a.dtype, [], [a.value], env),
  },
  iota: {
    name: 'iota',
    summary: 'i32[n] = 0, 1, ..., n-1',
    category: 'source',
    arity: [0, 0],
    pure: true,
    inferType: (_, a: IotaAttrs) => {
      if (typeof a.length === 'number' && (a.length < 0 || !Number.isInteger(a.length)))
        throw new OpTypeError(`iota: length ${a.length} must be a non-negative integer`);
      return tensorType('i32', [a.length]);
    },
    evaluate: (_, a: IotaAttrs, env) => {
      const n = dimEval(a.length, env.dims);
      const t = alloc('i32', [n], env);
      for (let i = 0; i < n; i++) t.data[i] = i;
      return t;
    },
  },
});
