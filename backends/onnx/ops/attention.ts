// ONNX lowering of attention in standard ops: MatMul(q, k^T) * scale, the causal mask as a
// Where over LessOrEqual(key index, query index + Sk - Sq) (so it also serves a KV cache,
// where the Sq queries are the last of the Sk keys), Softmax, MatMul with v. ORT's optimiser
// may fuse this; the unfused form runs on every runtime.

import { attrsOf } from '../../../src/ir/registry.ts';
import { int, ints, type OnnxLowerCtx, type OnnxLowering } from '../emitter.ts';
import { type Dim, dimSub, dimToString } from '../../../src/ir/dims.ts';
import type { attentionOps } from '../../../src/ir/ops/attention.ts';

/** bool [Sq, Sk]: key j is visible to query i when j <= i + (Sk - Sq). Shared by the layers. */
function causalMask(ctx: OnnxLowerCtx, sq: Dim, sk: Dim): string {
  return ctx.memo(`causal(${dimToString(sq)}, ${dimToString(sk)})`, () => {
    const zero = ctx.dimScalar(0);
    const one = ctx.dimScalar(1);
    const queries = ctx.op('Range', [zero, ctx.dimScalar(sq), one]);
    const lastVisible = ctx.op('Add', [queries, ctx.dimScalar(dimSub(sk, sq))]);
    const keys = ctx.op('Range', [zero, ctx.dimScalar(sk), one]);
    return ctx.op('LessOrEqual', [keys, ctx.op('Unsqueeze', [lastVisible, ctx.i64([1])])]);
  });
}

export const attentionLowerings: { [K in keyof typeof attentionOps]: OnnxLowering } = {
  attention: (ctx, n, [q, k, v], types) => {
    const a = attrsOf(n, 'attention');
    const r = n.type.shape.length;
    const perm = [...Array(r - 2).keys(), r - 1, r - 2];
    const raw = ctx.op('MatMul', [q, ctx.op('Transpose', [k], { perm: ints(perm) })]);
    let scores = ctx.op('Mul', [raw, ctx.memo(`scale ${a.scale}`, () => ctx.constant('f32', [], [a.scale], 'scale'))]);
    if (a.causal) {
      const sq = n.type.shape[r - 2];
      const sk = types[1].shape[r - 2];
      const masked = ctx.memo('minus_infinity', () => ctx.constant('f32', [], [-Infinity], 'minus_infinity'));
      scores = ctx.op('Where', [causalMask(ctx, sq, sk), scores, masked]);
    }
    return ctx.op('MatMul', [ctx.op('Softmax', [scores], { axis: int(-1) }), v]);
  },
};
