// WGSL lowerings of the sources: inputs, parameters and tensor constants are buffers the plan
// fills (read through a contiguous view), scalar constants are literals, iota is its index.

import { attrsOf } from '../../../src/ir/registry.ts';
import { contiguousView, exprValue, viewValue } from '../values.ts';
import { lazy, literalValue, type WgslLowering } from '../lowering.ts';
import type { sourceOps } from '../../../src/ir/ops/sources.ts';

export const sourceWgsl: { [K in keyof typeof sourceOps]: WgslLowering } = {
  input: lazy((n, _, ctx) => viewValue(n.type.dtype, n.type.shape, contiguousView(ctx.input(n), n.type.shape))),
  param: lazy((n, _, ctx) => viewValue(n.type.dtype, n.type.shape, contiguousView(ctx.param(n), n.type.shape))),
  const: lazy((n, _, ctx) => {
    const a = attrsOf(n, 'const');
    if ('value' in a) return literalValue(a.dtype, a.value);
    return viewValue(n.type.dtype, n.type.shape, contiguousView(ctx.constant(n), n.type.shape));
  }),
  iota: lazy((n) => exprValue('i32', n.type.shape, (_k, at) => `i32(${at.axes[0]})`)),
};
