// The ops attention's gradient builds (part of the attention family: src/ir/ops/attention.ts
// holds the rule). FlashAttention's backward: the probabilities are recomputed from each query
// row's log-sum-exp instead of being kept, so no [Sq, Sk] tensor exists, forward or backward.
//   P_ij  = exp(scale q_i.k_j - lse_i)            (visible (i, j) only)
//   dP_ij = dout_i . v_j,  dS_ij = P_ij (dP_ij - delta_i),  delta_i = dout_i . out_i
//   dV_j = sum_i P_ij dout_i;  dQ_i = scale sum_j dS_ij k_j;  dK_j = scale sum_i dS_ij q_i

import type { OpDef } from '../registry.ts';
import { dimEq } from '../dims.ts';
import { OpTypeError, tensorType, typeToString, type TensorType } from '../types.ts';
import { alloc, size, type RefTensor } from '../reference.ts';
import type { AttentionAttrs } from './attention.ts';

export type AttentionGradTarget = 'q' | 'k' | 'v';
export interface AttentionGradAttrs extends AttentionAttrs { wrt: AttentionGradTarget }

/** Query i sees keys 0 .. i + (Sk - Sq) when causal, all Sk otherwise: the end (exclusive). */
export const visibleEnd = (a: AttentionAttrs, i: number, Sq: number, Sk: number) => (a.causal ? Math.min(Sk, i + (Sk - Sq) + 1) : Sk);

function checkQk(op: string, q: TensorType, k: TensorType): void {
  const r = q.shape.length;
  const ok = r >= 2 && k.shape.length === r && q.dtype === k.dtype && q.shape.slice(0, -2).every((d, i) => dimEq(d, k.shape[i])) && dimEq(q.shape[r - 1], k.shape[r - 1]);
  if (!ok) throw new OpTypeError(`${op}: q ${typeToString(q)} and k ${typeToString(k)} must be [..., Sq, D] and [..., Sk, D]`);
}

/** Scaled, masked scores of one query row against the keys it sees. */
function scores(q: RefTensor, k: RefTensor, a: AttentionAttrs, b: number, i: number, out: Float64Array): number {
  const r = q.shape.length;
  const [Sq, D] = q.shape.slice(-2);
  const Sk = k.shape[r - 2];
  const end = visibleEnd(a, i, Sq, Sk);
  for (let j = 0; j < end; j++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += q.data[(b * Sq + i) * D + d] * k.data[(b * Sk + j) * D + d];
    out[j] = s * a.scale;
  }
  return end;
}

export const attentionGradOps = {
  attention_lse: {
    name: 'attention_lse',
    summary: "log-sum-exp of each query row's scaled, masked scores [..., Sq] (attention's saved row statistic)",
    category: 'composite',
    arity: [2, 2],
    pure: true,
    inferType: ([q, k], _a: AttentionAttrs) => {
      checkQk('attention_lse', q, k);
      return tensorType(q.dtype, q.shape.slice(0, -1));
    },
    evaluate: ([q, k], a: AttentionAttrs, env) => {
      const r = q.shape.length;
      const Sq = q.shape[r - 2];
      const batch = size(q.shape.slice(0, -2));
      const out = alloc(q.dtype, q.shape.slice(0, -1), env);
      const s = new Float64Array(k.shape[r - 2]);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < Sq; i++) {
          const end = scores(q, k, a, b, i, s);
          let m = -Infinity;
          for (let j = 0; j < end; j++) m = Math.max(m, s[j]);
          let sum = 0;
          for (let j = 0; j < end; j++) sum += Math.exp(s[j] - m);
          out.data[b * Sq + i] = m + Math.log(sum);
        }
      return out;
    },
  } satisfies OpDef<AttentionAttrs>,
  attention_grad: {
    name: 'attention_grad',
    summary: "attention's gradient with respect to q, k or v (attr wrt) from q, k, v, dout, lse and delta = rowsum(dout * out)",
    category: 'composite',
    arity: [6, 6],
    pure: true,
    inferType: ([q, k, v, dout, lse, delta], a: AttentionGradAttrs) => {
      checkQk('attention_grad', q, k);
      const r = q.shape.length;
      const rows = q.shape.slice(0, -1);
      const ok = v.shape.length === r && dimEq(v.shape[r - 2], k.shape[r - 2]) && dout.shape.length === r && dout.shape.slice(0, -1).every((d, i) => dimEq(d, rows[i])) &&
        dimEq(dout.shape[r - 1], v.shape[r - 1]) && [lse, delta].every((t) => t.shape.length === r - 1 && t.shape.every((d, i) => dimEq(d, rows[i])));
      if (!ok) throw new OpTypeError(`attention_grad: v ${typeToString(v)}, dout ${typeToString(dout)}, lse ${typeToString(lse)}, delta ${typeToString(delta)} do not fit q ${typeToString(q)}, k ${typeToString(k)}`);
      if (a.wrt !== 'q' && a.wrt !== 'k' && a.wrt !== 'v') throw new OpTypeError(`attention_grad: wrt must be 'q', 'k' or 'v', got ${String(a.wrt)}`);
      return a.wrt === 'q' ? q : a.wrt === 'k' ? k : v;
    },
    evaluate: ([q, k, v, dout, lse, delta], a: AttentionGradAttrs, env) => {
      const r = q.shape.length;
      const [Sq, D] = q.shape.slice(-2);
      const Sk = k.shape[r - 2];
      const Dv = v.shape[r - 1];
      const batch = size(q.shape.slice(0, -2));
      const target = a.wrt === 'q' ? q : a.wrt === 'k' ? k : v;
      const out = alloc(target.dtype, target.shape, env);
      const s = new Float64Array(Sk);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < Sq; i++) {
          const end = scores(q, k, a, b, i, s);
          for (let j = 0; j < end; j++) {
            const p = Math.exp(s[j] - lse.data[b * Sq + i]);
            if (a.wrt === 'v') {
              for (let d = 0; d < Dv; d++) out.data[(b * Sk + j) * Dv + d] += p * dout.data[(b * Sq + i) * Dv + d];
              continue;
            }
            let dp = 0;
            for (let d = 0; d < Dv; d++) dp += dout.data[(b * Sq + i) * Dv + d] * v.data[(b * Sk + j) * Dv + d];
            const ds = p * (dp - delta.data[b * Sq + i]) * a.scale;
            if (a.wrt === 'q') for (let d = 0; d < D; d++) out.data[(b * Sq + i) * D + d] += ds * k.data[(b * Sk + j) * D + d];
            else for (let d = 0; d < D; d++) out.data[(b * Sk + j) * D + d] += ds * q.data[(b * Sq + i) * D + d];
          }
        }
      return out;
    },
  } satisfies OpDef<AttentionGradAttrs>,
};
