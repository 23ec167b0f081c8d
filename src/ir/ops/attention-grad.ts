// The ops attention's gradient builds (part of the attention family: src/ir/ops/attention.ts
// holds the rule). FlashAttention's backward: the probabilities are recomputed from each query
// row's log-sum-exp instead of being kept, so no [Sq, Sk] tensor exists, forward or backward.
//   P_ij  = exp(scale q_i.k_j - lse_i)            (visible (i, j) only)
//   dP_ij = dout_i . v_j,  dS_ij = P_ij (dP_ij - delta_i),  delta_i = dout_i . out_i
//   dV_j = sum_i P_ij dout_i;  dQ_i = scale sum_j dS_ij k_j;  dK_j = scale sum_i dS_ij q_i
// (delta_i = sum_j P_ij dP_ij, the softmax's own correction, is computed from the output.)

import type { OpDef } from '../registry.ts';
import { dimEq } from '../dims.ts';
import { OpTypeError, tensorType, typeToString, type TensorType } from '../types.ts';
import { alloc, size, type RefTensor } from '../reference.ts';
import { requireFloat, sameDtype } from './common.ts';
import type { AttentionAttrs } from './attention.ts';

export type AttentionGradTarget = 'q' | 'k' | 'v';
export interface AttentionGradAttrs extends AttentionAttrs {
  /** the input whose gradient the op computes */
  wrt: AttentionGradTarget;
}

/** Query i sees keys 0 .. i + (Sk - Sq) when causal, all Sk otherwise: the end (exclusive). */
export const visibleEnd = (a: AttentionAttrs, i: number, Sq: number, Sk: number) => (a.causal ? Math.min(Sk, i + (Sk - Sq) + 1) : Sk);

const sameDims = (a: TensorType['shape'], b: TensorType['shape']) => a.length === b.length && a.every((d, i) => dimEq(d, b[i]));

/** q [..., Sq, D] and k [..., Sk, D] of one float dtype with the same leading dims, and a positive scale. */
function checkQk(op: string, q: TensorType, k: TensorType, a: AttentionAttrs): void {
  if (!(a.scale > 0)) throw new OpTypeError(`${op}: scale must be > 0, got ${a.scale}`);
  sameDtype(op, q, k);
  requireFloat(op, q);
  const r = q.shape.length;
  if (!(r >= 2 && k.shape.length === r && sameDims(q.shape.slice(0, -2), k.shape.slice(0, -2)) && dimEq(q.shape[r - 1], k.shape[r - 1])))
    throw new OpTypeError(`${op}: q ${typeToString(q)} and k ${typeToString(k)} must be [..., Sq, D] and [..., Sk, D] with equal leading dims`);
}

/** The scaled scores of query row i of head b against the keys it sees (into `out`); returns how many. */
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
    inferType: ([q, k], a: AttentionAttrs) => {
      checkQk('attention_lse', q, k, a);
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
      checkQk('attention_grad', q, k, a);
      sameDtype('attention_grad', q, v, dout, lse, delta);
      const r = q.shape.length;
      const rows = q.shape.slice(0, -1);
      const ok = v.shape.length === r && sameDims(v.shape.slice(0, -1), k.shape.slice(0, -1)) &&
        sameDims(dout.shape, [...rows, v.shape[r - 1]]) && sameDims(lse.shape, rows) && sameDims(delta.shape, rows);
      if (!ok)
        throw new OpTypeError(`attention_grad: v ${typeToString(v)}, dout ${typeToString(dout)}, lse ${typeToString(lse)}, delta ${typeToString(delta)} must be [..., Sk, Dv], [..., Sq, Dv], [..., Sq], [..., Sq] for q ${typeToString(q)}, k ${typeToString(k)}`);
      if (a.wrt !== 'q' && a.wrt !== 'k' && a.wrt !== 'v') throw new OpTypeError(`attention_grad: wrt must be 'q', 'k' or 'v', got ${String(a.wrt)}`);
      return { q, k, v }[a.wrt];
    },
    evaluate: ([q, k, v, dout, lse, delta], a: AttentionGradAttrs, env) => {
      const r = q.shape.length;
      const [Sq, D] = q.shape.slice(-2);
      const Sk = k.shape[r - 2];
      const Dv = v.shape[r - 1];
      const batch = size(q.shape.slice(0, -2));
      const target = { q, k, v }[a.wrt];
      // summed in f64 whatever the storage: dK and dV rows gather terms from every query
      const acc = new Float64Array(size(target.shape));
      const s = new Float64Array(Sk);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < Sq; i++) {
          const end = scores(q, k, a, b, i, s);
          const [qi, oi] = [(b * Sq + i) * D, (b * Sq + i) * Dv];
          for (let j = 0; j < end; j++) {
            const [kj, vj] = [(b * Sk + j) * D, (b * Sk + j) * Dv];
            const p = Math.exp(s[j] - lse.data[b * Sq + i]);
            if (a.wrt === 'v') {
              for (let d = 0; d < Dv; d++) acc[vj + d] += p * dout.data[oi + d];
              continue;
            }
            let dp = 0;
            for (let d = 0; d < Dv; d++) dp += dout.data[oi + d] * v.data[vj + d];
            const ds = p * (dp - delta.data[b * Sq + i]) * a.scale;
            if (a.wrt === 'q') for (let d = 0; d < D; d++) acc[qi + d] += ds * k.data[kj + d];
            else for (let d = 0; d < D; d++) acc[kj + d] += ds * q.data[qi + d];
          }
        }
      const out = alloc(target.dtype, target.shape, env);
      out.data.set(acc);
      return out;
    },
  } satisfies OpDef<AttentionGradAttrs>,
};
