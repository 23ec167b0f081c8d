// WGSL lowerings of the loss ops. cross_entropy: one thread per row, two passes over the
// classes (the maximum, then the sum of exponentials about it) and the label's logit; rows are
// few (the tokens of a batch) and long (the vocabulary). one_hot is an expression (1 where the
// class index equals the label), so it fuses into whatever reads it, and is never realised.

import { attrsOf } from '../../../src/ir/registry.ts';
import { numElements } from '../../../src/ir/dims.ts';
import { exprValue } from '../values.ts';
import { accessor, lazy, linearThread, storeOutput, WORKGROUP, type WgslLowering } from '../lowering.ts';
import { literal } from '../wgsl.ts';
import type { lossOps } from '../../../src/ir/ops/loss.ts';

export const lossWgsl: { [K in keyof typeof lossOps]: WgslLowering } = {
  cross_entropy: {
    kind: 'kernel',
    kernel: (n, [logits, labels], out, ctx) => {
      const rows = n.type.shape;
      const k = ctx.writer('cross_entropy');
      return [k.finish({
        summary: `cross_entropy of ${k.shape(logits.shape)} against labels ${k.shape(labels.shape)}`,
        workgroupSize: [WORKGROUP, 1, 1],
        grid: { linear: { count: numElements(rows), per: WORKGROUP } },
        main: () => {
          const at = linearThread(k, rows);
          const ldx = accessor(k, 'ldx', logits);
          const label = k.let(labels.emit(k, at), 'label');
          const classes = k.dim(logits.shape[logits.shape.length - 1]);
          const xc = `${ldx}(${[...at.axes, 'c'].join(', ')})`;
          // A label outside the classes reads class 0; the runtime checks ids before a run.
          k.line(`let picked = ${ldx}(${[...at.axes, `min(u32(max(${label}, 0i)), ${classes} - 1u)`].join(', ')});`);
          k.line(`var m = ${k.helper('rh_bits')}(0xff800000u);`);
          k.line(`for (var c = 0u; c < ${classes}; c++) { m = max(m, ${xc}); }`);
          k.line(`var s = 0.0f;`);
          k.line(`for (var c = 0u; c < ${classes}; c++) { s += exp(${xc} - m); }`);
          k.line(storeOutput(k, out, rows, at, `m + log(s) - picked`));
        },
      })];
    },
  },
  one_hot: lazy((n, [labels]) => {
    const a = attrsOf(n, 'one_hot');
    const r = labels.shape.length;
    return exprValue(a.dtype, n.type.shape, (k, at) => {
      const label = labels.emit(k, { axes: at.axes.slice(0, r) });
      return `select(${literal(a.dtype, 0)}, ${literal(a.dtype, 1)}, ${label} == i32(${at.axes[r]}))`;
    });
  }, {
    // one label load and a compare per element: the loss's accuracy and its gradient both read
    // it, and a realised [tokens, vocab] one-hot would cost a store and a load of vocab width
    asCheapAsALoad: ([labels]) => labels.view !== undefined,
  }),
};
