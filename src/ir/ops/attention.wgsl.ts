// WGSL lowering of attention: one fused kernel, one thread per query. The thread keeps its
// (scaled) query and the running output in vec4 registers and streams the visible keys once
// with an online softmax (running max and sum, rescaled as the max grows), so scores are never
// stored. Query i sees keys 0 .. i + (Sk - Sq): with a KV cache (Sk = P + S) the same kernel
// serves incremental decoding. q, k and v are read through whatever produced them, so the
// rotation of q and the head split of c_attn's output cost no kernel of their own.

import { dimSub, numElements, shapeToString } from '../dims.ts';
import type { Node } from '../graph.ts';
import type { DispatchDraft } from '../../../backends/webgpu/kernel-writer.ts';
import { decompose, type Value } from '../../../backends/webgpu/values.ts';
import { accessor, storeOutput, WORKGROUP, type KernelOutput, type LowerCtx, type WgslLowering } from '../../../backends/webgpu/lowering.ts';
import { f32Literal } from '../../../backends/webgpu/wgsl.ts';
import type { AttentionAttrs, attentionOps } from './attention.ts';

const LANES = ['x', 'y', 'z', 'w'];

function attentionKernel(n: Node, [q, key, v]: readonly Value[], out: KernelOutput, ctx: LowerCtx): DispatchDraft[] {
  const a = n.attrs as unknown as AttentionAttrs;
  const shape = n.type.shape;
  const r = shape.length;
  const lead = shape.slice(0, -2);
  const [Sq, D] = [q.shape[r - 2], q.shape[r - 1]];
  const [Sk, Dv] = [key.shape[r - 2], v.shape[r - 1]];
  if (typeof D !== 'number' || typeof Dv !== 'number')
    throw new Error(`attention: the WGSL backend needs static head sizes, got q ${shapeToString(q.shape)}, v ${shapeToString(v.shape)}`);
  // vec4 registers when the head sizes allow, scalars otherwise.
  const W = D % 4 === 0 && Dv % 4 === 0 ? 4 : 1;
  const T = W === 4 ? 'vec4<f32>' : 'f32';
  const k = ctx.writer('attention');
  return [k.finish({
    summary: `softmax(q k^T * scale${a.causal ? ', causal' : ''}) v for q ${k.shape(q.shape)}, k ${k.shape(key.shape)}`,
    workgroupSize: [WORKGROUP, 1, 1],
    grid: { x: { count: Sq, per: WORKGROUP }, y: { count: numElements(lead) } },
    main: () => {
      k.line(`let i = gid.x;`);
      k.line(`if (i >= ${k.dim(Sq)}) { return; }`);
      const l = decompose(k, 'gid.y', lead);
      const [ldq, ldk, ldv] = [accessor(k, 'ldq', q), accessor(k, 'ldk', key), accessor(k, 'ldv', v)];
      const load = (f: string, row: string, c: number) => {
        const at = (d: number) => `${f}(${[...l, row, `${d}u`].join(', ')})`;
        return W === 4 ? `vec4<f32>(${[0, 1, 2, 3].map((e) => at(4 * c + e)).join(', ')})` : at(c);
      };
      for (let c = 0; c < D / W; c++) k.line(`let q${c} = ${load(ldq, 'i', c)};`);
      for (let c = 0; c < Dv / W; c++) k.line(`var o${c} = ${T}();`);
      k.line(`var m = -3.0e38f;`);
      k.line(`var total = 0.0f;`);
      const end = a.causal ? `min(i + ${k.dim(dimSub(Sk, Sq))} + 1u, ${k.dim(Sk)})` : k.dim(Sk);
      k.line(`for (var j = 0u; j < ${end}; j++) {`);
      const dots = Array.from({ length: D / W }, (_, c) => (W === 4 ? `dot(q${c}, ${load(ldk, 'j', c)})` : `q${c} * ${load(ldk, 'j', c)}`));
      k.line(`  let s = (${dots.join(' + ')}) * ${f32Literal(a.scale)};`);
      k.line(`  let mNew = max(m, s);`);
      k.line(`  let corr = exp(m - mNew);`);
      k.line(`  let p = exp(s - mNew);`);
      k.line(`  total = total * corr + p;`);
      for (let c = 0; c < Dv / W; c++) k.line(`  o${c} = o${c} * corr + p * ${load(ldv, 'j', c)};`);
      k.line(`  m = mNew;`);
      k.line(`}`);
      k.line(`let inv = 1.0f / total;`);
      for (let d = 0; d < Dv; d++) {
        const reg = W === 4 ? `o${Math.floor(d / 4)}.${LANES[d % 4]}` : `o${d}`;
        k.line(storeOutput(k, out, shape, { axes: [...l, 'i', `${d}u`] }, `${reg} * inv`));
      }
    },
  })];
}

export const attentionWgsl: { [K in keyof typeof attentionOps]: WgslLowering } = {
  attention: { kind: 'kernel', anyOutputLayout: true, kernel: attentionKernel },
};
