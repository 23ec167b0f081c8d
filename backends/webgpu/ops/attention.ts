// WGSL lowering of attention: softmax(q k^T * scale) v with an online softmax (running max and
// sum, the output rescaled as the max grows), so no [Sq, Sk] scores ever reach memory. Query i
// sees keys 0 .. i + (Sk - Sq): with a KV cache (Sk = P + S) the same kernels serve incremental
// decoding. q, k and v are read through whatever produced them, so the rotation of q and the
// head split of c_attn's output cost no kernel of their own. Three kernels, chosen by Sq:
//   - Sq <= DECODE_QUERIES (a decode step): split over the context (flash-decoding). Each of
//     up to 64 threads of a workgroup per query takes a contiguous run of keys; their partials
//     (max, sum, unnormalised output) meet in workgroup memory and are combined after a barrier,
//     in the same dispatch. One new token so uses up to B*H*64 threads, not B*H.
//   - more queries (a prefill): 'rows' (the default) is one thread per query streaming its keys
//     from global memory; 'tiled' (KernelChoices.attentionPrefill) gives a workgroup a block of
//     queries and stages key and value tiles in workgroup memory, each row loaded once per
//     workgroup. On SwiftShader 'tiled' measured slower (1.1-1.7x on 4 heads of 64 at 128 and
//     512 queries: its barriers and workgroup-memory reads are costly there), so 'rows' is the
//     default; on GPUs with fast shared memory 'tiled' is the one to try.
// A static Sq picks the kernels at plan time. A symbolic Sq (one plan serves prefill and decode)
// puts both paths in the plan, each with a grid axis of 1 or 0 workgroups by Sq, so a run
// dispatches only the one its sizes select (the runtime skips dispatches with no workgroups).

import { attrsOf } from '../../../src/ir/registry.ts';
import { dimMul, dimSub, numElements, shapeToString, type Dim } from '../../../src/ir/dims.ts';
import type { Node } from '../../../src/ir/graph.ts';
import type { DispatchDraft, DraftGridDim, KernelWriter } from '../kernel-writer.ts';
import { decompose, type Value } from '../values.ts';
import { accessor, storeOutput, WORKGROUP, type KernelOutput, type LowerCtx, type WgslLowering } from '../lowering.ts';
import { f32Literal, u32Literal, wgslType, type Scalar } from '../wgsl.ts';
import type { AttentionAttrs, attentionOps } from '../../../src/ir/ops/attention.ts';
import { attentionGradWgsl } from './attention-grad.ts';

/** At most this many queries take the split-context (decode) path: its grid covers them. */
export const DECODE_QUERIES = 4;
/** Key chunks per query on the decode path at most: the threads of one workgroup. */
const MAX_CHUNKS = 64;
/** Keys per chunk at least, so short contexts do not pay for 64 near-empty partials. */
const MIN_CHUNK = 16;
/**
 * Floats of workgroup memory a kernel may take (the tiled kernel's key and value tiles, the
 * decode kernel's partials): 16 KiB, WebGPU's default maxComputeWorkgroupStorageSize.
 */
const WORKGROUP_FLOATS = 4096;

const LANES = ['x', 'y', 'z', 'w'];

interface Shapes {
  a: AttentionAttrs;
  shape: readonly Dim[];
  lead: readonly Dim[];
  Sq: Dim;
  Sk: Dim;
  D: number;
  Dv: number;
  /** vec4 registers when the head sizes allow, scalars otherwise */
  W: 1 | 4;
  dtype: Scalar;
  /** the WGSL type of a register: a scalar or vec4 of the output's dtype */
  T: string;
}

function shapesOf(n: Node, [q, key, v]: readonly Value[]): Shapes {
  const a = attrsOf(n, 'attention');
  const shape = n.type.shape;
  const r = shape.length;
  const [Sq, D] = [q.shape[r - 2], q.shape[r - 1]];
  const [Sk, Dv] = [key.shape[r - 2], v.shape[r - 1]];
  if (typeof D !== 'number' || typeof Dv !== 'number')
    throw new Error(`attention: the WGSL backend needs static head sizes, got q ${shapeToString(q.shape)}, v ${shapeToString(v.shape)}`);
  const W = D % 4 === 0 && Dv % 4 === 0 ? 4 : 1;
  return { a, shape, lead: shape.slice(0, -2), Sq, Sk, D, Dv, W, dtype: n.type.dtype, T: wgslType(n.type.dtype, W) };
}

/** Reads of q, k, v: register group `c` (a W-wide slice of the head) of row `row`. */
function loaders(k: KernelWriter, s: Shapes, [q, key, v]: readonly Value[], lead: readonly string[]) {
  const fns = { q: accessor(k, 'ldq', q), k: accessor(k, 'ldk', key), v: accessor(k, 'ldv', v) };
  return (which: keyof typeof fns, row: string, c: string | number) => {
    const col = (e: number) => (typeof c === 'number' ? `${s.W * c + e}u` : `${c} * ${s.W}u + ${e}u`);
    const at = (e: number) => `${fns[which]}(${[...lead, row, col(e)].join(', ')})`;
    return s.W === 4 ? `${s.T}(${[0, 1, 2, 3].map(at).join(', ')})` : at(0);
  };
}

/** The last key (exclusive) query `i` sees. */
function keyEnd(k: KernelWriter, s: Shapes, i: string): string {
  return s.a.causal ? `min(${i} + ${k.dim(dimSub(s.Sk, s.Sq))} + 1u, ${k.dim(s.Sk)})` : k.dim(s.Sk);
}

/** The online-softmax update of (m, total, o*) by key `s` (the score) with value registers `val(c)`. */
function update(k: KernelWriter, s: Shapes, score: string, val: (c: number) => string, indent: string): void {
  k.line(`${indent}let s = (${score}) * ${f32Literal(s.a.scale)};`);
  k.line(`${indent}let mNew = max(m, s);`);
  k.line(`${indent}let corr = exp(m - mNew);`);
  k.line(`${indent}let p = exp(s - mNew);`);
  k.line(`${indent}total = total * corr + p;`);
  for (let c = 0; c < s.Dv / s.W; c++) k.line(`${indent}o${c} = o${c} * corr + p * ${val(c)};`);
  k.line(`${indent}m = mNew;`);
}

function dot(s: Shapes, key: (c: number) => string): string {
  return Array.from({ length: s.D / s.W }, (_, c) => (s.W === 4 ? `dot(q${c}, ${key(c)})` : `q${c} * ${key(c)}`)).join(' + ');
}

function registers(k: KernelWriter, s: Shapes, load: ReturnType<typeof loaders>, row: string): void {
  for (let c = 0; c < s.D / s.W; c++) k.line(`let q${c} = ${load('q', row, c)};`);
  for (let c = 0; c < s.Dv / s.W; c++) k.line(`var o${c} = ${s.T}();`);
  k.line(`var m = -3.0e38f;`);
  k.line(`var total = 0.0f;`);
}

const reg = (s: Shapes, d: number) => (s.W === 4 ? `o${Math.floor(d / 4)}.${LANES[d % 4]}` : `o${d}`);

/** One thread per query, streaming its visible keys from global memory. */
function rowsKernel(inputs: readonly Value[], out: KernelOutput, ctx: LowerCtx, s: Shapes, z?: DraftGridDim): DispatchDraft {
  const k = ctx.writer('attention');
  return k.finish({
    summary: `softmax(q k^T * scale${s.a.causal ? ', causal' : ''}) v for q ${k.shape(inputs[0].shape)}, k ${k.shape(inputs[1].shape)}: a thread per query`,
    workgroupSize: [WORKGROUP, 1, 1],
    grid: { x: { count: s.Sq, per: WORKGROUP }, y: { count: numElements(s.lead) }, ...(z ? { z } : {}) },
    main: () => {
      k.line(`let i = gid.x;`);
      k.line(`if (i >= ${k.dim(s.Sq)}) { return; }`);
      const l = decompose(k, 'wid.y', s.lead);
      const load = loaders(k, s, inputs, l);
      registers(k, s, load, 'i');
      k.line(`for (var j = 0u; j < ${keyEnd(k, s, 'i')}; j++) {`);
      update(k, s, dot(s, (c) => load('k', 'j', c)), (c) => load('v', 'j', c), '  ');
      k.line(`}`);
      k.line(`let inv = 1.0f / total;`);
      for (let d = 0; d < s.Dv; d++) k.line(storeOutput(k, out, s.shape, { axes: [...l, 'i', `${d}u`] }, `${reg(s, d)} * inv`));
    },
  });
}

/**
 * A workgroup per block of WORKGROUP queries: tiles of BK key and value rows are staged in
 * workgroup memory by all its threads, then each thread (one query) updates its softmax from
 * the keys of the tile it sees. Barriers sit in control flow uniform over the workgroup (the
 * tile loop's bound depends only on the block, and no thread leaves early): threads past the
 * last query load and wait like the others, and store nothing.
 */
function tiledKernel(inputs: readonly Value[], out: KernelOutput, ctx: LowerCtx, s: Shapes, z?: DraftGridDim): DispatchDraft {
  const k = ctx.writer('attention');
  const [gk, gv] = [s.D / s.W, s.Dv / s.W];
  const BK = Math.max(1, Math.min(WORKGROUP, Math.floor(WORKGROUP_FLOATS / (s.D + s.Dv))));
  const tk = k.workgroupArray('tileK', s.T, BK * gk);
  const tv = k.workgroupArray('tileV', s.T, BK * gv);
  return k.finish({
    summary: `softmax(q k^T * scale${s.a.causal ? ', causal' : ''}) v for q ${k.shape(inputs[0].shape)}, k ${k.shape(inputs[1].shape)}: ${BK}-key tiles in workgroup memory`,
    workgroupSize: [WORKGROUP, 1, 1],
    grid: { x: { count: s.Sq, per: WORKGROUP }, y: { count: numElements(s.lead) }, ...(z ? { z } : {}) },
    main: () => {
      const l = decompose(k, 'wid.y', s.lead);
      const load = loaders(k, s, inputs, l);
      k.line(`let i = wid.x * ${WORKGROUP}u + lix;`);
      k.line(`let sk = ${k.dim(s.Sk)};`);
      k.line(`let iq = min(i, ${k.dim(s.Sq)} - 1u);`); // threads past the last query compute on its row
      registers(k, s, load, 'iq');
      k.line(`let mine = ${keyEnd(k, s, 'i')};`);
      k.line(`let blockEnd = ${keyEnd(k, s, `(wid.x * ${WORKGROUP}u + ${WORKGROUP - 1}u)`)};`);
      k.line(`for (var t = 0u; t * ${BK}u < blockEnd; t++) {`);
      k.line(`  let first = t * ${BK}u;`);
      k.line(`  workgroupBarrier();`); // the previous tile is consumed
      const stage = (arr: string, which: 'k' | 'v', groups: number) => {
        for (let r = 0; r * WORKGROUP < BK * groups; r++) {
          // element e of the tile: register group e % groups of key row first + e / groups (clamped: rows past Sk are never read)
          const e = `e${which}${r}`;
          k.line(`  let ${e} = lix + ${r * WORKGROUP}u;`);
          const body = `${arr}[${e}] = ${load(which, `min(first + ${e} / ${groups}u, sk - 1u)`, `(${e} % ${groups}u)`)};`;
          k.line((r + 1) * WORKGROUP <= BK * groups ? `  ${body}` : `  if (${e} < ${BK * groups}u) { ${body} }`);
        }
      };
      stage(tk, 'k', gk);
      stage(tv, 'v', gv);
      k.line(`  workgroupBarrier();`);
      k.line(`  let n = min(${BK}u, max(mine, first) - first);`);
      k.line(`  for (var jj = 0u; jj < n; jj++) {`);
      update(k, s, dot(s, (c) => `${tk}[jj * ${gk}u + ${c}u]`), (c) => `${tv}[jj * ${gv}u + ${c}u]`, '    ');
      k.line(`  }`);
      k.line(`}`);
      k.line(`if (i < ${k.dim(s.Sq)}) {`);
      k.line(`  let inv = 1.0f / total;`);
      for (let d = 0; d < s.Dv; d++) k.line(`  ${storeOutput(k, out, s.shape, { axes: [...l, 'i', `${d}u`] }, `${reg(s, d)} * inv`)}`);
      k.line(`}`);
    },
  });
}

/** Chunks per query on the decode path: the threads of its workgroup, as many as the partials' workgroup memory allows. */
export function decodeChunks(Dv: number): number {
  let c = MAX_CHUNKS;
  while (c > 1 && c * (Dv + 2) > WORKGROUP_FLOATS) c /= 2;
  return c;
}

/** Keys per chunk at run time: at least MIN_CHUNK, at most `chunks` chunks. */
function chunkLength(k: KernelWriter, s: Shapes, chunks: number): string {
  return `max(${MIN_CHUNK}u, (${k.dim(s.Sk)} + ${chunks - 1}u) / ${chunks}u)`;
}

/**
 * The decode path (flash-decoding in one dispatch): a workgroup per (leading index, query), a
 * thread per chunk of keys. Each thread's partial (max, sum, unnormalised o[Dv]) goes to
 * workgroup memory; after one barrier the threads combine the chunks that hold keys, each
 * thread some output elements, rescaled to the overall max. The barrier is in uniform control
 * flow: threads past the context compute an empty partial (max -3e38, sum 0) and are skipped
 * by the combine.
 */
function decodeKernel(inputs: readonly Value[], out: KernelOutput, ctx: LowerCtx, s: Shapes): DispatchDraft {
  const chunks = decodeChunks(s.Dv);
  const gv = s.Dv / s.W;
  // With a symbolic Sq, a z axis of one workgroup when Sq <= DECODE_QUERIES and none otherwise.
  const z: DraftGridDim | undefined = typeof s.Sq === 'number' ? undefined : { count: dimSub(DECODE_QUERIES + 1, s.Sq), limit: 1 };
  const k = ctx.writer('attention');
  const pm = k.workgroupArray('partMax', wgslType(s.dtype), chunks);
  const ps = k.workgroupArray('partSum', wgslType(s.dtype), chunks);
  const po = k.workgroupArray('partOut', s.T, chunks * gv);
  const draft = k.finish({
    summary: `softmax(q k^T * scale${s.a.causal ? ', causal' : ''}) v for q ${k.shape(inputs[0].shape)}, k ${k.shape(inputs[1].shape)}: ${chunks} key chunks per query, combined in workgroup memory`,
    workgroupSize: [chunks, 1, 1],
    grid: { x: { count: numElements(s.lead) }, y: { count: s.Sq, limit: DECODE_QUERIES }, ...(z ? { z } : {}) },
    main: () => {
      const l = decompose(k, 'wid.x', s.lead);
      const load = loaders(k, s, inputs, l);
      k.line(`let i = wid.y;`);
      k.line(`let len = ${chunkLength(k, s, chunks)};`);
      k.line(`let end = ${keyEnd(k, s, 'i')};`);
      k.line(`let lo = lix * len;`);
      registers(k, s, load, 'i');
      k.line(`for (var j = lo; j < min(lo + len, end); j++) {`);
      update(k, s, dot(s, (c) => load('k', 'j', c)), (c) => load('v', 'j', c), '  ');
      k.line(`}`);
      k.line(`${pm}[lix] = m;`);
      k.line(`${ps}[lix] = total;`);
      for (let c = 0; c < gv; c++) k.line(`${po}[lix * ${gv}u + ${c}u] = o${c};`);
      k.line(`workgroupBarrier();`);
      k.line(`let used = (end + len - 1u) / len;`);
      k.line(`var mx = -3.0e38f;`);
      k.line(`for (var c = 0u; c < used; c++) { mx = max(mx, ${pm}[c]); }`);
      k.line(`var sum = 0.0f;`);
      k.line(`for (var c = 0u; c < used; c++) { sum += exp(${pm}[c] - mx) * ${ps}[c]; }`);
      k.line(`for (var d = lix; d < ${s.Dv}u; d += ${chunks}u) {`);
      k.line(`  var acc = 0.0f;`);
      const element = s.W === 4 ? `${po}[c * ${gv}u + d / 4u][d % 4u]` : `${po}[c * ${gv}u + d]`;
      k.line(`  for (var c = 0u; c < used; c++) { acc += exp(${pm}[c] - mx) * ${element}; }`);
      k.line(`  ${storeOutput(k, out, s.shape, { axes: [...l, 'i', 'd'] }, 'acc / sum')}`);
      k.line(`}`);
    },
  });
  return { ...draft, label: 'split over the context' };
}

function attentionKernel(n: Node, inputs: readonly Value[], out: KernelOutput, ctx: LowerCtx): DispatchDraft[] {
  const s = shapesOf(n, inputs);
  const fixed = typeof s.Sq === 'number';
  if (fixed && (s.Sq as number) <= DECODE_QUERIES) return [decodeKernel(inputs, out, ctx, s)];
  // Beside the decode path, the prefill kernel runs when Sq > DECODE_QUERIES (a z axis of one
  // workgroup, else none).
  const z: DraftGridDim | undefined = fixed ? undefined : { count: s.Sq, base: DECODE_QUERIES, limit: 1 };
  const prefill = ctx.choices.attentionPrefill === 'tiled' ? { ...tiledKernel(inputs, out, ctx, s, z), label: 'tiled' } : rowsKernel(inputs, out, ctx, s, z);
  return fixed ? [prefill] : [prefill, decodeKernel(inputs, out, ctx, s)];
}

export const attentionWgsl: { [K in keyof typeof attentionOps]: WgslLowering } = {
  attention: { kind: 'kernel', anyOutputLayout: true, kernel: attentionKernel },
  ...attentionGradWgsl,
};
