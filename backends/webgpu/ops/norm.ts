// WGSL lowerings of the normalisations: one thread per row, looping over it (two-pass mean and
// biased variance for LayerNorm, max-subtracted exponentials for softmax). No workgroup
// reductions: barriers are slow on SwiftShader, and the rows here are short.

import { attrsOf } from '../../../src/ir/registry.ts';
import { normaliseAxis } from '../../../src/ir/reference.ts';
import { numElements } from '../../../src/ir/dims.ts';
import { accessor, linearThread, storeOutput, WORKGROUP, type WgslLowering } from '../lowering.ts';
import { f32Literal } from '../wgsl.ts';
import type { normOps } from '../../../src/ir/ops/norm.ts';

export const normWgsl: { [K in keyof typeof normOps]: WgslLowering } = {
  layer_norm: {
    kind: 'kernel',
    kernel: (n, [x, w, b], out, ctx) => {
      const shape = n.type.shape;
      const rows = shape.slice(0, -1);
      const k = ctx.writer('layer_norm');
      return [k.finish({
        summary: `layer_norm over the last axis of ${k.shape(shape)}`,
        workgroupSize: [WORKGROUP, 1, 1],
        grid: { linear: { count: numElements(rows), per: WORKGROUP } },
        main: () => {
          const lead = linearThread(k, rows).axes;
          const [ldx, ldw, ldb] = [accessor(k, 'ldx', x), accessor(k, 'ldw', w), accessor(k, 'ldb', b)];
          const width = k.dim(shape[shape.length - 1]);
          const xc = `${ldx}(${[...lead, 'c'].join(', ')})`;
          k.line(`var sum = 0.0f;`);
          k.line(`for (var c = 0u; c < ${width}; c++) { sum += ${xc}; }`);
          k.line(`let mean = sum / f32(${width});`);
          k.line(`var sq = 0.0f;`);
          k.line(`for (var c = 0u; c < ${width}; c++) { let d = ${xc} - mean; sq += d * d; }`);
          k.line(`let inv = 1.0f / sqrt(sq / f32(${width}) + ${f32Literal(attrsOf(n, 'layer_norm').eps)});`);
          k.line(`for (var c = 0u; c < ${width}; c++) {`);
          const at = { axes: [...lead, 'c'], flat: `flat * ${width} + c` };
          k.line(`  ${storeOutput(k, out, shape, at, `(${xc} - mean) * inv * ${ldw}(c) + ${ldb}(c)`)}`);
          k.line(`}`);
        },
      })];
    },
  },
  softmax: {
    kind: 'kernel',
    kernel: (n, [x], out, ctx) => {
      const shape = n.type.shape;
      const axis = normaliseAxis(attrsOf(n, 'softmax').axis, shape.length);
      const lines = shape.filter((_, i) => i !== axis);
      const k = ctx.writer('softmax');
      return [k.finish({
        summary: `softmax along axis ${axis} of ${k.shape(shape)}`,
        workgroupSize: [WORKGROUP, 1, 1],
        grid: { linear: { count: numElements(lines), per: WORKGROUP } },
        main: () => {
          const lead = linearThread(k, lines).axes;
          const axesAt = (j: string) => [...lead.slice(0, axis), j, ...lead.slice(axis)];
          const ldx = accessor(k, 'ldx', x);
          const xj = `${ldx}(${axesAt('j').join(', ')})`;
          const count = k.dim(shape[axis]);
          k.line(`var m = ${k.helper('rh_bits')}(0xff800000u);`);
          k.line(`for (var j = 0u; j < ${count}; j++) { m = max(m, ${xj}); }`);
          k.line(`var s = 0.0f;`);
          k.line(`for (var j = 0u; j < ${count}; j++) { s += exp(${xj} - m); }`);
          k.line(`for (var j = 0u; j < ${count}; j++) {`);
          k.line(`  ${storeOutput(k, out, shape, { axes: axesAt('j') }, `exp(${xj} - m) / s`)}`);
          k.line(`}`);
        },
      })];
    },
  },
};

