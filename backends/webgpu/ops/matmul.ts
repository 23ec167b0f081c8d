// WGSL lowering of matmul: vec4 register blocking without shared memory (the fastest form on
// SwiftShader, and sound everywhere): each thread computes a 4x4 block of the output, reading
// 4 rows of A and 4 rows of B (or of B^T, for the tied lm_head x @ wte^T) as vec4s along K.
// Leading dims of A fold into M when B is a plain matrix. The result goes through the
// epilogue the scheduler fused in (bias, residual add, GELU). Operands that are not
// vec4-friendly (odd K, strided, chunked A) take a scalar kernel with the same interface.
// A B^T split into chunks (GPT-2 medium's wte under a 128 MiB binding limit) is one dispatch
// per chunk, each computing that chunk's columns.

import { type Dim, dimDivExact, dimEq, dimMul, numElements } from '../../../src/ir/dims.ts';
import type { Node } from '../../../src/ir/graph.ts';
import type { DispatchDraft, KernelWriter } from '../kernel-writer.ts';
import { decompose, type Index, type Value, type View } from '../values.ts';
import { storeOutput, WORKGROUP, type KernelOutput, type LowerCtx, type WgslLowering } from '../lowering.ts';
import type { matmulOps } from '../../../src/ir/ops/matmul.ts';
import { f32Literal, wgslType } from '../wgsl.ts';

const div4 = (d: Dim) => dimDivExact(d, 4) !== undefined;
const LANES = ['x', 'y', 'z', 'w'];

/** Whether the non-1 axes form one strided run (so they can be walked as one axis). */
function oneRun(shape: readonly Dim[], strides: readonly Dim[]): boolean {
  const axes = shape.map((d, i) => ({ d, s: strides[i] })).filter((a) => a.d !== 1);
  return axes.every((a, i) => i + 1 >= axes.length || dimEq(a.s, dimMul(axes[i + 1].d, axes[i + 1].s)));
}

interface Operand { view: View; batch: Dim[]; rowStride: Dim; colStride: Dim }

/** Per-thread offsets of the operands for batch `z` (broadcast batch dims contribute nothing). */
function batchOffsets(k: KernelWriter, ops: Operand[], batch: readonly Dim[], flatRows: boolean): string[] {
  if (flatRows) return ops.map((o) => k.dim(o.view.offset));
  const axes = decompose(k, 'gid.z', batch);
  return ops.map((o) => {
    const off = batch.length - o.batch.length;
    const parts = [k.dim(o.view.offset), ...o.batch.map((d, i) => (d === 1 ? '' : `${axes[i + off]} * ${k.dim(o.view.strides[i])}`)).filter(Boolean)];
    return k.let(parts.join(' + '), 'off');
  });
}

function matmulKernel(n: Node, [a, b]: readonly Value[], out: KernelOutput, ctx: LowerCtx): DispatchDraft[] {
  const shape = n.type.shape;
  const r = shape.length;
  const [M, N] = [shape[r - 2], shape[r - 1]];
  const K = a.shape[a.shape.length - 1];
  const batch = shape.slice(0, -2);
  const A = operand(a);
  const B = operand(b);
  // A's leading dims fold into its rows when B is one matrix and they are one strided run.
  const flatRows = B.batch.length === 0 && oneRun(a.shape.slice(0, -1), a.view!.strides.slice(0, -1));
  const rows = flatRows ? numElements([...batch, M]) : M;
  // A LayerNorm prologue's weight and bias are read as vec4s along K too.
  const normVec = !out.normaliseA || [out.normaliseA.weight, out.normaliseA.bias].every((v) => v.view && dimEq(v.view.strides[0], 1) && div4(v.view.offset) && !v.view.buffer.chunking);
  const aVec = div4(K) && dimEq(A.colStride, 1) && div4(A.rowStride) && offsetsOk(A) && !A.view.buffer.chunking && normVec;
  const bChunks = B.view.buffer.chunking;
  let mode: 'nn' | 'nt' | 'outer' | 'scalar' = 'scalar';
  const bRowsVec = rowsAsVec4(B, N);
  if (aVec && bRowsVec) mode = 'nn';
  // A K that is no multiple of 4 (the vocabulary, in dh = dlogits @ wte) still has B's rows as
  // vec4s: each step of K multiplies 4 scalars of A into one vec4 of B (outer products).
  else if (bRowsVec && !out.normaliseA) mode = 'outer';
  const chunkedBt = bChunks && flatRows && dimEq(B.view.offset, 0) && dimEq(B.colStride, bChunks.rowElements);
  if (aVec && dimEq(B.rowStride, 1) && div4(B.colStride) && offsetsOk(B) && (!bChunks || chunkedBt)) mode = 'nt';

  const k = ctx.writer('matmul');
  const split = mode === 'nt' && bChunks ? bChunks : undefined;
  const bVar = mode === 'scalar' ? '' : k.binding(B.view.buffer, 'read', 4, split ? 0 : undefined);
  const V = wgslType(n.type.dtype, 4);
  const nBase = k.uniform('nBase', 0);
  const nEndU = k.uniform('nEnd', N);
  const bRowBase = k.uniform('bRowBase', 0);
  const per = mode === 'scalar' ? 1 : 4;
  const draft = k.finish({
    summary: `${k.shape(a.shape)} @ ${k.shape(b.shape)}, ${MODE_SUMMARY[mode]}${out.normaliseA ? ', rows of A layer-normalised' : ''}${out.store ? ', region store' : out.epilogue ? ', fused epilogue' : ''}`,
    workgroupSize: [WORKGROUP, 1, 1],
    grid: {
      x: { count: N, per: WORKGROUP * per },
      y: { count: rows, per },
      ...(flatRows ? {} : { z: { count: numElements(batch) } }),
    },
    main: () => {
      k.line(`let col = ${nBase} + gid.x * ${per}u;`);
      k.line(`let row = gid.y * ${per}u;`);
      k.line(`let nEnd = min(${k.dim(N)}, ${nEndU});`);
      k.line(`let mEnd = ${k.dim(rows)};`);
      k.line(`if (col >= nEnd || row >= mEnd) { return; }`);
      const [aOff, bOff] = batchOffsets(k, [A, B], batch, flatRows);
      const outOff = flatRows ? '0u' : k.let(`gid.z * ${k.dim(dimMul(M, N))}`, 'off');
      const at = (m: string, c: string): Index => {
        const mm = k.memo(`row ${m}`, () => m, 'm');
        const nn = k.memo(`col ${c}`, () => c, 'n');
        const axes = flatRows ? [...decompose(k, mm, [...batch, M]), nn] : [...decompose(k, 'gid.z', batch), mm, nn];
        return { axes, flat: `${outOff} + ${mm} * ${k.dim(N)} + ${nn}` };
      };
      const norm = out.normaliseA;
      if (mode === 'scalar') {
        const aRow = k.let(`${aOff} + row * ${k.dim(A.rowStride)}`, 'ar');
        const aAtK = (kk: string) => k.load(A.view.buffer, `${aRow} + ${kk} * ${k.dim(A.colStride)}`);
        if (norm) rowStatistics(k, [aAtK('kk')], K, norm.eps, '');
        const bCol = k.let(`${bOff} + col * ${k.dim(B.colStride)}`, 'bc');
        // A pair store also needs column col ^ 1 (N is even for one): a second accumulator.
        const pair = out.store !== undefined;
        const bPair = pair ? k.let(`${bOff} + (col ^ 1u) * ${k.dim(B.colStride)}`, 'bp') : '';
        k.line(`var acc = 0.0f;`);
        if (pair) k.line(`var accp = 0.0f;`);
        k.line(`for (var kk = 0u; kk < ${k.dim(K)}; kk++) {`);
        const aAt = aAtK('kk');
        k.line(`  let ak = ${norm ? `(${aAt} - mean0) * inv0 * ${norm.weight.emit(k, { axes: ['kk'] })} + ${norm.bias.emit(k, { axes: ['kk'] })}` : aAt};`);
        k.line(`  acc += ak * ${k.load(B.view.buffer, `${bCol} + kk * ${k.dim(B.rowStride)}`)};`);
        if (pair) k.line(`  accp += ak * ${k.load(B.view.buffer, `${bPair} + kk * ${k.dim(B.rowStride)}`)};`);
        k.line(`}`);
        k.line(storeOutput(k, out, shape, at('row', 'col'), 'acc', pair ? 'accp' : undefined));
        return;
      }
      if (mode === 'outer') {
        outerProductBlocks(k, A, B, bVar, aOff, bOff, K, V);
        storeBlocks(k, out, shape, at);
        return;
      }
      const aVar = k.binding(A.view.buffer, 'read', 4);
      for (let i = 0; i < 4; i++) k.line(`let a${i}Row = (${aOff} + min(row + ${i}u, mEnd - 1u) * ${k.dim(A.rowStride)}) / 4u;`);
      const [w4, b4] = norm ? [norm.weight, norm.bias].map((v) => k.binding(v.view!.buffer, 'read', 4)) : [];
      const [wOff, bOff4] = norm ? [norm.weight, norm.bias].map((v) => k.dim(dimDivExact(v.view!.offset, 4)!)) : [];
      if (norm) rowStatistics(k, [0, 1, 2, 3].map((i) => `${aVar}[a${i}Row + kk]`), dimDivExact(K, 4)!, norm.eps, V, K);
      if (mode === 'nn') k.line(`let bCol = (${bOff} + col) / 4u;`);
      else for (let i = 0; i < 4; i++) k.line(`let b${i}Row = (${bOff} + (min(col + ${i}u, nEnd - 1u) - ${bRowBase}) * ${k.dim(B.colStride)}) / 4u;`);
      for (let i = 0; i < 4; i++) k.line(`var acc${i} = ${V}();`);
      // The K loop over some of the thread's 4 rows. A full block shares each B load among 4
      // rows; the last block (and decoding, where M is 1) loops per row instead of computing
      // clamped duplicates: 4x less work for a one-token step.
      const loop = (rows: number[], indent: string) => {
        k.line(`${indent}for (var kk = 0u; kk < ${k.dim(dimDivExact(K, 4)!)}; kk++) {`);
        for (const i of rows)
          k.line(norm
            ? `${indent}  let a${i} = (${aVar}[a${i}Row + kk] - ${V}(mean${i})) * inv${i} * ${w4}[${wOff} + kk] + ${b4}[${bOff4} + kk];`
            : `${indent}  let a${i} = ${aVar}[a${i}Row + kk];`);
        const rowStride4 = mode === 'nn' ? k.dim(dimDivExact(B.rowStride, 4)!) : '';
        for (let j = 0; j < 4; j++)
          k.line(`${indent}  let w${j} = ${bVar}[${mode === 'nn' ? `bCol + (kk * 4u + ${j}u) * ${rowStride4}` : `b${j}Row + kk`}];`);
        for (const i of rows)
          k.line(mode === 'nn'
            ? `${indent}  acc${i} += a${i}.x * w0 + a${i}.y * w1 + a${i}.z * w2 + a${i}.w * w3;`
            : `${indent}  acc${i} += ${V}(dot(a${i}, w0), dot(a${i}, w1), dot(a${i}, w2), dot(a${i}, w3));`);
        k.line(`${indent}}`);
      };
      k.line(`if (row + 3u < mEnd) {`);
      loop([0, 1, 2, 3], '  ');
      k.line(`} else {`);
      for (let i = 0; i < 3; i++) {
        k.line(`  if (row + ${i}u < mEnd) {`);
        loop([i], '    ');
        k.line(`  }`);
      }
      k.line(`}`);
      storeBlocks(k, out, shape, at);
    },
  });
  if (!split) return [draft];
  // One dispatch per chunk of B^T's rows: the same kernel, that chunk bound, its columns.
  const bIndex = k.bindingIndex(bVar);
  const [iBase, iEnd, iRow] = ['nBase', 'nEnd', 'bRowBase'].map((u) => k.uniformIndex(u));
  return Array.from({ length: split.chunks }, (_, c) => {
    const start = c * split.rowsPerChunk;
    const bindings = draft.bindings.map((bd, i) => (i === bIndex ? { ...bd, chunk: c } : bd));
    const uniforms = draft.uniforms.map((u, i) => (i === iBase || i === iRow ? start : i === iEnd ? start + split.rowsPerChunk : u));
    const grid = { ...draft.grid, x: { count: N, base: start, limit: split.rowsPerChunk, per: WORKGROUP * 4 } };
    return { ...draft, bindings, uniforms, grid, label: `chunk ${c}` };
  });
}

/** Whether B's rows can be read as vec4s (the 'nn' and 'outer' modes). */
function rowsAsVec4(B: Operand, N: Dim): boolean {
  return dimEq(B.colStride, 1) && div4(B.rowStride) && div4(N) && offsetsOk(B) && !B.view.buffer.chunking;
}

function offsetsOk(o: Operand): boolean {
  return div4(o.view.offset) && o.batch.every((_, i) => div4(o.view.strides[i]));
}

function operand(v: Value): Operand {
  const r = v.shape.length;
  return { view: v.view!, batch: v.shape.slice(0, -2), rowStride: v.view!.strides[r - 2], colStride: v.view!.strides[r - 1] };
}

/**
 * A transposed A (a weight's gradient reads x^T) is copied contiguous for the vec4 modes, which
 * read A along K, unless B's rows are vec4s: the 'outer' mode reads A as scalars at any stride
 * (4 rows at one k are then adjacent), cheaper than a copy of a [vocab, tokens] dY^T.
 */
function unitStrideA([a, b]: readonly Value[]): readonly number[] {
  if (!b.view || b.shape.length !== 2 || a.shape.length !== 2) return [0];
  return rowsAsVec4(operand(b), b.shape[1]) ? [] : [0];
}

const MODE_SUMMARY = { nn: 'vec4 blocks', nt: 'vec4 blocks, B transposed', outer: 'vec4 blocks of B, scalar A', scalar: 'scalar' } as const;

/** acc0..acc3 (vec4s of the block's 4 columns, one per row) into the output, through the epilogue. */
function storeBlocks(k: KernelWriter, out: KernelOutput, shape: readonly Dim[], at: (m: string, c: string) => Index): void {
  // Index lets first: a `let` inside the if-block would be out of scope for the next store.
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      // lanes j and j ^ 1 are a pair: col is a multiple of 4
      const store = storeOutput(k, out, shape, at(`row + ${i}u`, `col + ${j}u`), `acc${i}.${LANES[j]}`, `acc${i}.${LANES[j ^ 1]}`);
      k.line(`if (row + ${i}u < mEnd && col + ${j}u < nEnd) { ${store} }`);
    }
}

/**
 * The 'outer' mode's K loop: acc<i> (row + i, columns col..col+3) += A[row + i, kk] * B[kk, col..col+3],
 * A read as scalars (any strides, any K), B's rows as vec4s. As in the vec4 modes, a full block
 * shares each B load among its 4 rows and a partial one loops per row.
 */
function outerProductBlocks(k: KernelWriter, A: Operand, B: Operand, bVar: string, aOff: string, bOff: string, K: Dim, V: string): void {
  for (let i = 0; i < 4; i++) k.line(`let a${i}Row = ${aOff} + min(row + ${i}u, mEnd - 1u) * ${k.dim(A.rowStride)};`);
  k.line(`let bCol = ${bOff} + col;`);
  for (let i = 0; i < 4; i++) k.line(`var acc${i} = ${V}();`);
  const loop = (rows: number[], indent: string) => {
    k.line(`${indent}for (var kk = 0u; kk < ${k.dim(K)}; kk++) {`);
    k.line(`${indent}  let w = ${bVar}[(bCol + kk * ${k.dim(B.rowStride)}) / 4u];`);
    for (const i of rows) k.line(`${indent}  acc${i} += ${k.load(A.view.buffer, `a${i}Row + kk * ${k.dim(A.colStride)}`)} * w;`);
    k.line(`${indent}}`);
  };
  k.line(`if (row + 3u < mEnd) {`);
  loop([0, 1, 2, 3], '  ');
  k.line(`} else {`);
  for (let i = 0; i < 3; i++) {
    k.line(`  if (row + ${i}u < mEnd) {`);
    loop([i], '    ');
    k.line(`  }`);
  }
  k.line(`}`);
}

/**
 * `mean<i>` and `inv<i>` (1 / sqrt(biased variance + eps)) of each row read by `reads[i]` (an
 * expression of `kk` for kk < steps), two passes as the LayerNorm kernel does. With `vec4` (its
 * WGSL type) each read is 4 elements and `width` is the row's length.
 */
function rowStatistics(k: KernelWriter, reads: string[], steps: Dim, eps: number, vec4: string, width: Dim = steps): void {
  const lanes = vec4 !== '';
  const total = (x: string) => (lanes ? `dot(${x}, ${vec4}(1.0f))` : x);
  reads.forEach((read, i) => {
    k.line(`var sum${i} = 0.0f;`);
    k.line(`for (var kk = 0u; kk < ${k.dim(steps)}; kk++) { sum${i} += ${total(read)}; }`);
    k.line(`let mean${i} = sum${i} / f32(${k.dim(width)});`);
    k.line(`var sq${i} = 0.0f;`);
    k.line(`for (var kk = 0u; kk < ${k.dim(steps)}; kk++) { let d = ${read} - ${lanes ? `${vec4}(mean${i})` : `mean${i}`}; sq${i} += ${lanes ? 'dot(d, d)' : 'd * d'}; }`);
    k.line(`let inv${i} = 1.0f / sqrt(sq${i} / f32(${k.dim(width)}) + ${f32Literal(eps)});`);
  });
}

export const matmulWgsl: { [K in keyof typeof matmulOps]: WgslLowering } = {
  matmul: { kind: 'kernel', needsViews: [0, 1], needsUnitLastStride: unitStrideA, epilogue: true, pairStore: true, kernel: matmulKernel },
};
