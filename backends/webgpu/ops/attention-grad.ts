// WGSL lowerings of attention's gradient ops (src/ir/ops/attention-grad.ts). The probabilities
// are recomputed from the saved log-sum-exp, so nothing [Sq, Sk] reaches memory; and as WGSL
// has no f32 atomics, each thread owns one row of the result and sums into it alone:
//   - attention_lse and the gradient of q: a thread per query row, looping over the keys it
//     sees (j < i + (Sk - Sq) + 1 when causal);
//   - the gradients of k and v: a thread per key row, looping over the queries that see it
//     (i >= j - (Sk - Sq) when causal).
// The thread's own rows (q and dout; or k and v) and its accumulator are private arrays of vec4s
// (scalars when a head size is not a multiple of 4), walked by loops rather than unrolled: at a
// head size of 64 the unrolled form took SwiftShader 10 s to compile per kernel, the loops 0.7 s,
// and a GPU's compiler unrolls loops of constant bounds itself. No workgroup memory, no barriers;
// the grid is the forward 'rows' kernel's: x over the rows, y over the leading (batch, head) index.

import { attrsOf } from '../../../src/ir/registry.ts';
import { dimSub, numElements, shapeToString, type Dim } from '../../../src/ir/dims.ts';
import type { Node } from '../../../src/ir/graph.ts';
import type { DispatchDraft, KernelWriter } from '../kernel-writer.ts';
import { decompose, type Value } from '../values.ts';
import { accessor, storeOutput, WORKGROUP, type KernelOutput, type LowerCtx, type WgslLowering } from '../lowering.ts';
import { f32Literal, wgslType } from '../wgsl.ts';
import type { AttentionAttrs } from '../../../src/ir/ops/attention.ts';

interface Heads {
  a: AttentionAttrs;
  lead: readonly Dim[];
  Sq: Dim;
  Sk: Dim;
  D: number;
  Dv: number;
  /** elements per group: vec4s when both head sizes are multiples of 4, scalars otherwise */
  W: 1 | 4;
  /** the WGSL type of a group */
  T: string;
}

function headsOf(n: Node, a: AttentionAttrs, q: Value, key: Value, v?: Value): Heads {
  const r = q.shape.length;
  const [D, Dv] = [q.shape[r - 1], (v ?? q).shape[r - 1]];
  if (typeof D !== 'number' || typeof Dv !== 'number')
    throw new Error(`${n.op}: the WGSL backend needs static head sizes, got q ${shapeToString(q.shape)}${v ? `, v ${shapeToString(v.shape)}` : ''}`);
  const W = D % 4 === 0 && Dv % 4 === 0 ? 4 : 1;
  return { a, lead: q.shape.slice(0, -2), Sq: q.shape[r - 2], Sk: key.shape[r - 2], D, Dv, W, T: wgslType(n.type.dtype, W) };
}

/** Reads group `c` (a u32 expression) of row `row`: W elements of a [..., S, width] value, through its accessor. */
type Row = (row: string, c: string) => string;

function rowReader(h: Heads, fn: string, lead: readonly string[]): Row {
  return (row, c) => {
    const at = (e: number) => `${fn}(${[...lead, row, h.W === 4 ? `${c} * 4u + ${e}u` : c].join(', ')})`;
    return h.W === 4 ? `${h.T}(${[0, 1, 2, 3].map(at).join(', ')})` : at(0);
  };
}

/** `for` over the register groups of a row of `width` elements. */
const overGroups = (h: Heads, width: number, body: string) => `for (var c = 0u; c < ${width / h.W}u; c++) { ${body} }`;

/** A private array `name` holding row `row`, a register group per entry; returns its group reader. */
function holdRow(k: KernelWriter, h: Heads, name: string, width: number, read: Row, row: string, indent = ''): (c: string) => string {
  k.line(`${indent}var ${name}: array<${h.T}, ${width / h.W}>;`);
  k.line(`${indent}${overGroups(h, width, `${name}[c] = ${read(row, 'c')};`)}`);
  return (c) => `${name}[${c}]`;
}

/** `var name` = the dot product of two rows of `width` elements, given by their group readers. */
function dot(k: KernelWriter, h: Heads, name: string, width: number, a: (c: string) => string, b: (c: string) => string, indent: string): void {
  k.line(`${indent}var ${name} = 0.0f;`);
  k.line(`${indent}${overGroups(h, width, `${name} += ${h.W === 4 ? `dot(${a('c')}, ${b('c')})` : `${a('c')} * ${b('c')}`};`)}`);
}

/** Keys query `i` sees end here (exclusive). */
function keyEnd(k: KernelWriter, h: Heads, i: string): string {
  return h.a.causal ? `min(${i} + ${k.dim(dimSub(h.Sk, h.Sq))} + 1u, ${k.dim(h.Sk)})` : k.dim(h.Sk);
}

/** The first query that sees key `j`. */
function firstQuery(k: KernelWriter, h: Heads, j: string): string {
  if (!h.a.causal) return '0u';
  const off = k.dim(dimSub(h.Sk, h.Sq));
  return `select(0u, ${j} - ${off}, ${j} > ${off})`;
}

/** The prologue: this thread's row (`let name`, or an early return past the last); returns the leading indices. */
function rowThread(k: KernelWriter, h: Heads, rows: Dim, name: string): readonly string[] {
  k.line(`let ${name} = gid.x;`);
  k.line(`if (${name} >= ${k.dim(rows)}) { return; }`);
  return decompose(k, 'wid.y', h.lead);
}

const grid = (h: Heads, rows: Dim) => ({ x: { count: rows, per: WORKGROUP }, y: { count: numElements(h.lead) } });

function lseKernel(n: Node, [q, key]: readonly Value[], out: KernelOutput, ctx: LowerCtx): DispatchDraft[] {
  const h = headsOf(n, attrsOf(n, 'attention_lse'), q, key);
  const k = ctx.writer('attention_lse');
  return [k.finish({
    summary: `log-sum-exp of the rows of q k^T * scale${h.a.causal ? ', causal' : ''} for q ${k.shape(q.shape)}, k ${k.shape(key.shape)}: a thread per query`,
    workgroupSize: [WORKGROUP, 1, 1],
    grid: grid(h, h.Sq),
    main: () => {
      const lead = rowThread(k, h, h.Sq, 'i');
      const qi = holdRow(k, h, 'qi', h.D, rowReader(h, accessor(k, 'ldq', q), lead), 'i');
      const readK = rowReader(h, accessor(k, 'ldk', key), lead);
      // one pass: the running max, and the sum of exponentials rescaled as it grows
      k.line(`var m = -3.0e38f;`);
      k.line(`var total = 0.0f;`);
      k.line(`for (var j = 0u; j < ${keyEnd(k, h, 'i')}; j++) {`);
      dot(k, h, 'qk', h.D, qi, (c) => readK('j', c), '  ');
      k.line(`  let s = qk * ${f32Literal(h.a.scale)};`);
      k.line(`  let mNew = max(m, s);`);
      k.line(`  total = total * exp(m - mNew) + exp(s - mNew);`);
      k.line(`  m = mNew;`);
      k.line(`}`);
      k.line(storeOutput(k, out, n.type.shape, { axes: [...lead, 'i'] }, 'm + log(total)'));
    },
  })];
}

function gradKernel(n: Node, [q, key, v, dout, lse, delta]: readonly Value[], out: KernelOutput, ctx: LowerCtx): DispatchDraft[] {
  const a = attrsOf(n, 'attention_grad');
  const h = headsOf(n, a, q, key, v);
  const k = ctx.writer(`attention_grad_${a.wrt}`);
  const scale = f32Literal(a.scale);
  const width = a.wrt === 'v' ? h.Dv : h.D;
  const rows = a.wrt === 'q' ? h.Sq : h.Sk;
  return [k.finish({
    summary: `the gradient of attention${a.causal ? ' (causal)' : ''} with respect to ${a.wrt} for q ${k.shape(q.shape)}, k ${k.shape(key.shape)}: a thread per ${a.wrt === 'q' ? 'query' : 'key'}`,
    workgroupSize: [WORKGROUP, 1, 1],
    grid: grid(h, rows),
    main: () => {
      const row = a.wrt === 'q' ? 'i' : 'j';
      const lead = rowThread(k, h, rows, row);
      // accessors made where they are read, so a kernel binds only what it reads (dV: no v, no delta)
      const rowsOf = (name: string, x: Value) => rowReader(h, accessor(k, name, x), lead);
      const statOf = (name: string, x: Value) => (i: string) => `${accessor(k, name, x)}(${[...lead, i].join(', ')})`;
      k.line(`var acc: array<${h.T}, ${width / h.W}>;`);
      const accumulate = (term: (c: string) => string) => k.line(`  ${overGroups(h, width, `acc[c] += ${term('c')};`)}`);
      if (a.wrt === 'q') {
        // dQ_i = scale sum_j P_ij (dout_i . v_j - delta_i) k_j
        const qi = holdRow(k, h, 'qi', h.D, rowsOf('ldq', q), 'i');
        const oi = holdRow(k, h, 'oi', h.Dv, rowsOf('ldo', dout), 'i');
        k.line(`let lse = ${statOf('ldl', lse)('i')};`);
        k.line(`let delta = ${statOf('ldd', delta)('i')};`);
        const [readK, readV] = [rowsOf('ldk', key), rowsOf('ldv', v)];
        k.line(`for (var j = 0u; j < ${keyEnd(k, h, 'i')}; j++) {`);
        const kj = holdRow(k, h, 'kj', h.D, readK, 'j', '  ');
        dot(k, h, 'qk', h.D, qi, kj, '  ');
        dot(k, h, 'dp', h.Dv, oi, (c) => readV('j', c), '  ');
        k.line(`  let ds = exp(qk * ${scale} - lse) * (dp - delta);`);
        accumulate((c) => `ds * ${kj(c)}`);
      } else {
        // dK_j = scale sum_i P_ij (dout_i . v_j - delta_i) q_i;  dV_j = sum_i P_ij dout_i
        const kj = holdRow(k, h, 'kj', h.D, rowsOf('ldk', key), 'j');
        const vj = a.wrt === 'k' ? holdRow(k, h, 'vj', h.Dv, rowsOf('ldv', v), 'j') : undefined;
        const [readQ, readO, lseAt] = [rowsOf('ldq', q), rowsOf('ldo', dout), statOf('ldl', lse)];
        const deltaAt = vj ? statOf('ldd', delta) : undefined;
        k.line(`for (var i = ${firstQuery(k, h, 'j')}; i < ${k.dim(h.Sq)}; i++) {`);
        const qi = holdRow(k, h, 'qi', h.D, readQ, 'i', '  ');
        dot(k, h, 'qk', h.D, qi, kj, '  ');
        k.line(`  let p = exp(qk * ${scale} - ${lseAt('i')});`);
        if (vj && deltaAt) {
          dot(k, h, 'dp', h.Dv, (c) => readO('i', c), vj, '  ');
          k.line(`  let ds = p * (dp - ${deltaAt('i')});`);
          accumulate((c) => `ds * ${qi(c)}`);
        } else accumulate((c) => `p * ${readO('i', c)}`);
      }
      k.line(`}`);
      const factor = a.wrt === 'v' ? '' : `${scale} * `;
      const element = h.W === 4 ? 'acc[d / 4u][d % 4u]' : 'acc[d]';
      k.line(`for (var d = 0u; d < ${width}u; d++) {`);
      k.line(`  ${storeOutput(k, out, n.type.shape, { axes: [...lead, row, 'd'] }, `${factor}${element}`)}`);
      k.line(`}`);
    },
  })];
}

// The kernels read their operands as buffers: q, k, v, dout, lse and delta are then one binding
// each, seven with the output, within the eight every device allows (an operand read through an
// expression would bind all the buffers the expression reads). In a backward graph they are
// buffers already (each is read by several kernels), so this costs no copy there.
export const attentionGradWgsl = {
  attention_lse: { kind: 'kernel', needsViews: [0, 1], kernel: lseKernel },
  attention_grad: { kind: 'kernel', needsViews: [0, 1, 2, 3, 4, 5], kernel: gradKernel },
} satisfies Record<string, WgslLowering>;
