// Values that enter the graph: run-time inputs, learnable parameters, constants, index ramps.

import { defineOps } from '../registry.ts';
import type { Dim } from '../dims.ts';
import { dimEval } from '../dims.ts';
import { OpTypeError, type DType, tensorType } from '../types.ts';
import type { InitSpec } from '../graph.ts';
import { alloc, type EvalEnv, type RefTensor } from '../reference.ts';

export interface InputAttrs { name: string; dtype: DType; shape: readonly Dim[] }
export interface ParamAttrs { name: string; dtype: DType; shape: readonly Dim[]; init: InitSpec }
export interface ConstAttrs { dtype: DType; value: number }
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
    arity: [0, 0],
    pure: false,
    inferType: (_, a: InputAttrs) => tensorType(a.dtype, a.shape),
    evaluate: fed('input'),
  },
  param: {
    name: 'param',
    summary: 'a learnable parameter, named as in the checkpoint',
    arity: [0, 0],
    pure: false,
    inferType: (_, a: ParamAttrs) => tensorType(a.dtype, a.shape),
    evaluate: fed('param'),
  },
  const: {
    name: 'const',
    summary: 'a scalar constant',
    arity: [0, 0],
    pure: true,
    inferType: (_, a: ConstAttrs) => {
      if (!Number.isFinite(a.value) && !Number.isNaN(a.value)) return tensorType(a.dtype, []);
      if (a.dtype === 'i32' && !Number.isInteger(a.value)) throw new OpTypeError(`const: ${a.value} is not an integer`);
      return tensorType(a.dtype, []);
    },
    evaluate: (_, a: ConstAttrs, env) => {
      const t = alloc(a.dtype, [], env);
      t.data[0] = a.value;
      return t;
    },
  },
  iota: {
    name: 'iota',
    summary: 'i32[n] = 0, 1, ..., n-1',
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
