// ONNX lowering of the rotation in standard ops: view x [..., D] as interleaved pairs
// [..., D/2, 2], rotate (x0 c - x1 s, x0 s + x1 c) with cos/sin [..., D/2] broadcast over the
// pair axis, and interleave back with Concat + Reshape.

import { int, type OnnxLowering } from '../emitter.ts';
import { dimDivExact } from '../../../src/ir/dims.ts';
import type { ropeOps } from '../../../src/ir/ops/rope.ts';

export const ropeLowerings: { [K in keyof typeof ropeOps]: OnnxLowering } = {
  rope: (ctx, n, [x, cos, sin]) => {
    const shape = n.type.shape;
    const half = dimDivExact(shape[shape.length - 1], 2)!;
    const pairs = ctx.op('Reshape', [x, ctx.shape([...shape.slice(0, -1), half, 2])], { allowzero: int(1) });
    const lane = (i: number) => ctx.op('Slice', [pairs, ctx.i64([i]), ctx.i64([i + 1]), ctx.i64([-1])]);
    const [x0, x1] = [lane(0), lane(1)];
    const last = ctx.i64([-1]);
    const c = ctx.op('Unsqueeze', [cos, last]);
    const s = ctx.op('Unsqueeze', [sin, last]);
    const even = ctx.op('Sub', [ctx.op('Mul', [x0, c]), ctx.op('Mul', [x1, s])]);
    const odd = ctx.op('Add', [ctx.op('Mul', [x0, s]), ctx.op('Mul', [x1, c])]);
    const rotated = ctx.op('Concat', [even, odd], { axis: int(-1) });
    return ctx.op('Reshape', [rotated, ctx.shape(shape)], { allowzero: int(1) });
  },
};
