// WGSL lowering of the rotation: an expression like the elementwise ones, except that lane d
// reads its pair partner, so it fuses into whatever reads it (attention's q loads, the kernel
// that appends rotated keys to the KV cache) instead of running as a kernel of its own.

import { dimDivExact } from '../../../src/ir/dims.ts';
import { broadcastIndex, exprValue } from '../values.ts';
import { lazy, type WgslLowering } from '../lowering.ts';
import type { ropeOps } from '../../../src/ir/ops/rope.ts';

export const ropeWgsl: { [K in keyof typeof ropeOps]: WgslLowering } = {
  rope: lazy((n, [x, cos, sin]) => {
    const shape = n.type.shape;
    const r = shape.length;
    const pairShape = [...shape.slice(0, -1), dimDivExact(shape[r - 1], 2)!];
    return exprValue('f32', shape, (k, at) => {
      const lane = at.axes[r - 1];
      const even = k.memo(`even ${lane}`, () => `${lane} & ~1u`, 'i');
      const lead = at.axes.slice(0, -1);
      const x0 = x.emit(k, { axes: [...lead, even] });
      const x1 = x.emit(k, { axes: [...lead, `(${even} + 1u)`] });
      const pair = { axes: [...lead, k.memo(`pair ${lane}`, () => `${lane} >> 1u`, 'i')] };
      const c = cos.emit(k, broadcastIndex(pair, pairShape, cos.shape));
      const s = sin.emit(k, broadcastIndex(pair, pairShape, sin.shape));
      return `select(${x0} * ${s} + ${x1} * ${c}, ${x0} * ${c} - ${x1} * ${s}, (${lane} & 1u) == 0u)`;
    });
  }),
};
