// Scaled dot-product attention as one op, so backends can fuse it (flash-style on WebGPU,
// a few standard ops in ONNX) and the KV-cache pass can extend its keys.

import { defineOps } from '../registry.ts';
import { dimEq, dimToString } from '../dims.ts';
import { OpTypeError, typeToString } from '../types.ts';
import { alloc, size } from '../reference.ts';
import { requireFloat, sameDtype } from './common.ts';
import { attentionGradOps, type AttentionGradTarget } from './attention-grad.ts';
import { mul, zeros } from '../vjp.ts';

export interface AttentionAttrs {
  /** multiplies q.k; 1/sqrt(D) for GPT-2 */
  scale: number;
  /**
   * Query i (of Sq) sees keys 0 .. i + (Sk - Sq): with a KV cache the queries are the last Sq
   * positions of the Sk keys; without one Sk = Sq and this is the usual lower triangle.
   */
  causal: boolean;
}

export const attentionOps = defineOps({
  attention: {
    name: 'attention',
    summary: 'softmax(q k^T * scale [+ causal mask]) v over [..., H, S, D]',
    category: 'composite',
    arity: [3, 3],
    pure: true,
    // FlashAttention's backward (attention-grad.ts): the row statistic is recomputed from q and
    // k (one pass over the keys) rather than saved by the forward, so the forward kernel stays
    // as inference runs it. delta = rowsum(dy * out) feeds the gradients of q and k only: when
    // v's alone is wanted, zeros stand in (dV reads no delta) and the reduction is not built.
    vjp: (g, n, dy) => {
      const [q, k, v] = n.inputs;
      const { scale, causal } = n.attrs as AttentionAttrs;
      const lse = g.add('attention_lse', [q, k], { scale, causal });
      const delta = n.wants(0) || n.wants(1) ? g.add('sum', [mul(g, dy, n.output)], { axis: -1, keepdims: false }) : zeros(g, g.type(lse));
      const grad = (wrt: AttentionGradTarget, i: number) => (n.wants(i) ? g.add('attention_grad', [q, k, v, dy, lse, delta], { scale, causal, wrt }) : undefined);
      return [grad('q', 0), grad('k', 1), grad('v', 2)];
    },
    inferType: ([q, k, v], a: AttentionAttrs) => {
      if (!(a.scale > 0)) throw new OpTypeError(`attention: scale must be > 0, got ${a.scale}`);
      sameDtype('attention', q, k, v);
      requireFloat('attention', q);
      const r = q.shape.length;
      const ok = r >= 2 && k.shape.length === r && v.shape.length === r &&
        q.shape.slice(0, -2).every((d, i) => dimEq(d, k.shape[i]) && dimEq(d, v.shape[i])) &&
        dimEq(q.shape[r - 1], k.shape[r - 1]) && dimEq(k.shape[r - 2], v.shape[r - 2]);
      if (!ok)
        throw new OpTypeError(
          `attention: q ${typeToString(q)}, k ${typeToString(k)}, v ${typeToString(v)} must be [..., Sq, D], [..., Sk, D], [..., Sk, Dv] with equal leading dims (D ${dimToString(q.shape[r - 1])})`,
        );
      return { dtype: q.dtype, shape: [...q.shape.slice(0, -1), v.shape[r - 1]] };
    },
    evaluate: ([q, k, v], a: AttentionAttrs, env) => {
      const r = q.shape.length;
      const [Sq, D] = q.shape.slice(-2);
      const Sk = k.shape[r - 2];
      const Dv = v.shape[r - 1];
      const batch = size(q.shape.slice(0, -2));
      const out = alloc(q.dtype, [...q.shape.slice(0, -1), Dv], env);
      const scores = new Float64Array(Sk);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < Sq; i++) {
          const last = a.causal ? i + (Sk - Sq) : Sk - 1;
          let m = -Infinity;
          for (let j = 0; j <= last; j++) {
            let s = 0;
            for (let d = 0; d < D; d++) s += q.data[(b * Sq + i) * D + d] * k.data[(b * Sk + j) * D + d];
            scores[j] = s * a.scale;
            m = Math.max(m, scores[j]);
          }
          let total = 0;
          for (let j = 0; j <= last; j++) total += (scores[j] = Math.exp(scores[j] - m));
          for (let d = 0; d < Dv; d++) {
            let acc = 0;
            for (let j = 0; j <= last; j++) acc += scores[j] * v.data[(b * Sk + j) * Dv + d];
            out.data[(b * Sq + i) * Dv + d] = acc / total;
          }
        }
      return out;
    },
  },
  ...attentionGradOps,
});
