// ONNX lowering of attention in standard ops: MatMul(q, k^T) * scale, the causal mask as a
// Where over LessOrEqual(key index, query index + Sk - Sq) (so it also serves a KV cache,
// where the Sq queries are the last of the Sk keys), Softmax, MatMul with v. ORT's optimiser
// may fuse this; the unfused form runs on every runtime.

import { attrsOf } from '../../../src/ir/registry.ts';
import { int, ints, type OnnxLowerCtx, type OnnxLowering } from '../emitter.ts';
import { type Dim, dimSub, dimToString } from '../../../src/ir/dims.ts';
import type { AttentionAttrs, attentionOps } from '../../../src/ir/ops/attention.ts';
import type { TensorType } from '../../../src/ir/types.ts';

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

/** q k^T * scale, with -inf where the causal mask hides a key: [..., Sq, Sk]. */
function maskedScores(ctx: OnnxLowerCtx, a: AttentionAttrs, q: string, k: string, qType: TensorType, kType: TensorType): string {
  const r = qType.shape.length;
  const perm = [...Array(r - 2).keys(), r - 1, r - 2];
  const raw = ctx.op('MatMul', [q, ctx.op('Transpose', [k], { perm: ints(perm) })]);
  const scores = ctx.op('Mul', [raw, ctx.memo(`scale ${a.scale}`, () => ctx.constant('f32', [], [a.scale], 'scale'))]);
  if (!a.causal) return scores;
  const masked = ctx.memo('minus_infinity', () => ctx.constant('f32', [], [-Infinity], 'minus_infinity'));
  return ctx.op('Where', [causalMask(ctx, qType.shape[r - 2], kType.shape[r - 2]), scores, masked]);
}

const swapLast = (r: number) => ints([...Array(r - 2).keys(), r - 1, r - 2]);

export const attentionLowerings: { [K in keyof typeof attentionOps]: OnnxLowering } = {
  attention: (ctx, n, [q, k, v], types) => {
    const scores = maskedScores(ctx, attrsOf(n, 'attention'), q, k, types[0], types[1]);
    return ctx.op('MatMul', [ctx.op('Softmax', [scores], { axis: int(-1) }), v]);
  },
  // The gradient ops materialise [Sq, Sk] here: ONNX exports run them for checking, not for memory.
  attention_lse: (ctx, n, [q, k], types) => {
    const scores = maskedScores(ctx, attrsOf(n, 'attention_lse'), q, k, types[0], types[1]);
    return ctx.opset >= 18 ? ctx.op('ReduceLogSumExp', [scores, ctx.i64([-1])], { keepdims: int(0) }) : ctx.op('ReduceLogSumExp', [scores], { axes: ints([-1]), keepdims: int(0) });
  },
  attention_grad: (ctx, n, [q, k, v, dout, lse, delta], types) => {
    const a = attrsOf(n, 'attention_grad');
    const r = types[0].shape.length;
    const col = (x: string) => ctx.op('Unsqueeze', [x, ctx.i64([-1])]);
    const p = ctx.op('Exp', [ctx.op('Sub', [maskedScores(ctx, a, q, k, types[0], types[1]), col(lse)])]);
    if (a.wrt === 'v') return ctx.op('MatMul', [ctx.op('Transpose', [p], { perm: swapLast(r) }), dout]);
    const dp = ctx.op('MatMul', [dout, ctx.op('Transpose', [v], { perm: swapLast(r) })]);
    const scale = ctx.memo(`scale ${a.scale}`, () => ctx.constant('f32', [], [a.scale], 'scale'));
    const ds = ctx.op('Mul', [ctx.op('Mul', [p, ctx.op('Sub', [dp, col(delta)])]), scale]);
    return a.wrt === 'q' ? ctx.op('MatMul', [ds, k]) : ctx.op('MatMul', [ctx.op('Transpose', [ds], { perm: swapLast(r) }), q]);
  },
};
