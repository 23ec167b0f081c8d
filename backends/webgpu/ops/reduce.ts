// WGSL lowerings of the reductions: one thread per output element, looping along the axis.

import { normaliseAxis } from '../../../src/ir/reference.ts';
import { numElements } from '../../../src/ir/dims.ts';
import { accessor, linearThread, storeOutput, WORKGROUP, type WgslLowering } from '../lowering.ts';
import type { KernelWriter } from '../kernel-writer.ts';
import { literal, type Scalar } from '../wgsl.ts';
import { DTYPES } from '../../../src/ir/dtypes.ts';
import { attrsOf } from '../../../src/ir/registry.ts';
import type { ReduceAttrs, reduceOps } from '../../../src/ir/ops/reduce.ts';

type Step = { init: (k: KernelWriter, dtype: Scalar) => string; step: (acc: string, x: string) => string; finish?: (acc: string, n: string, dtype: string) => string };

function reduce(name: string, how: Step): WgslLowering {
  return {
    kind: 'kernel',
    kernel: (n, [x], out, ctx) => {
      const a: ReduceAttrs = attrsOf(n, n.op as keyof typeof reduceOps); // every reduction takes ReduceAttrs
      const axis = normaliseAxis(a.axis, x.shape.length);
      const shape = n.type.shape;
      const k = ctx.writer(name);
      return [k.finish({
        summary: `${name} along axis ${axis} of ${k.shape(x.shape)}`,
        workgroupSize: [WORKGROUP, 1, 1],
        grid: { linear: { count: numElements(shape), per: WORKGROUP } },
        main: () => {
          const at = linearThread(k, shape);
          const rest = a.keepdims ? at.axes.filter((_, i) => i !== axis) : at.axes;
          const ldx = accessor(k, 'ldx', x);
          const xj = `${ldx}(${[...rest.slice(0, axis), 'j', ...rest.slice(axis)].join(', ')})`;
          const count = k.dim(x.shape[axis]);
          k.line(`var acc = ${how.init(k, x.dtype)};`);
          k.line(`for (var j = 0u; j < ${count}; j++) { acc = ${how.step('acc', xj)}; }`);
          k.line(storeOutput(k, out, shape, at, how.finish ? how.finish('acc', count, x.dtype) : 'acc'));
        },
      })];
    },
  };
}

const zero = (_k: KernelWriter, dtype: Scalar) => literal(dtype, 0);

export const reduceWgsl: { [K in keyof typeof reduceOps]: WgslLowering } = {
  sum: reduce('sum', { init: zero, step: (acc, x) => `${acc} + ${x}` }),
  mean: reduce('mean', { init: zero, step: (acc, x) => `${acc} + ${x}`, finish: (acc, n) => `${acc} / f32(${n})` }),
  max_reduce: reduce('max_reduce', {
    init: (k, dtype) => (DTYPES[dtype].float ? `${k.helper('rh_bits')}(0xff800000u)` : literal(dtype, -2147483648)),
    step: (acc, x) => `max(${acc}, ${x})`,
  }),
};
