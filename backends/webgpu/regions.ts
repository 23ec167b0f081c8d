// How the WebGPU backend renders fused regions (src/ir/ops/fused.ts) whose rule it has a
// kernel for: what it needs to know of a region's body, read off the body itself, and the
// stores those kernels end with. A body that does not have the expected form is rendered op by
// op instead (schedule.ts), so a region is never computed wrongly for being unusual.

import type { Node, Region } from '../../src/ir/graph.ts';
import { attrsOf, getOp } from '../../src/ir/registry.ts';
import { type Dim, shapeEq } from '../../src/ir/dims.ts';
import { normaliseAxis } from '../../src/ir/reference.ts';
import type { KernelWriter } from './kernel-writer.ts';
import type { Epilogue, PairStore } from './lowering.ts';
import { address, broadcastIndex, type Value, type View } from './values.ts';
import { wgslType } from './wgsl.ts';

/** An epilogue as one WGSL function per kernel: `fn epilogue(acc, i0, ..., flat)`, `v` computed with `acc`. */
export function epilogueFunction(shape: readonly Dim[], v: Value): Epilogue {
  const made = new WeakMap<KernelWriter, string>();
  return (k, acc, at) => {
    let name = made.get(k);
    if (!name) {
      const params = [`acc: ${wgslType(v.dtype)}`, ...shape.map((_, i) => `i${i}: u32`), 'flat: u32'].join(', ');
      name = k.func('epilogue', params, wgslType(v.dtype), () => v.emit(k, { axes: shape.map((_, i) => `i${i}`), flat: 'flat' }));
      made.set(k, name);
    }
    if (at.flat === undefined) throw new Error('internal: an epilogue needs the flat index');
    return `${name}(${acc}, ${[...at.axes, at.flat].join(', ')})`;
  };
}

/** A matmul with an epilogue: the LayerNorm of its A (norm-matmul, qkv-heads) when present, the matmul, then elementwise ops of its shape. */
export interface EpilogueBody {
  prologue?: Node;
  matmul: Node;
  rest: Node[];
}

export function epilogueBody(body: Region): EpilogueBody | undefined {
  const prologue = body.nodes[0]?.op === 'layer_norm' ? body.nodes[0] : undefined;
  const [matmul, ...rest] = prologue ? body.nodes.slice(1) : body.nodes;
  if (matmul?.op !== 'matmul' || (prologue && matmul.inputs[0] !== prologue.id)) return undefined;
  if (prologue && matmul.inputs[1] === prologue.id) return undefined;
  const ok = rest.every((n) => getOp(n.op).category === 'elementwise' && n.type.dtype === matmul.type.dtype && shapeEq(n.type.shape, matmul.type.shape));
  return ok ? { ...(prologue ? { prologue } : {}), matmul, rest } : undefined;
}

/** One head-major part of a qkv-heads region: columns [start, start + H*D) of the projection. */
export interface QkvPart {
  start: number;
  /** rotated by the region's rope */
  rotated: boolean;
}

/** A qkv-heads body: X [B, S, N] = an epilogue of the matmul, cut into parts [B, H, S, D]. */
export interface QkvBody {
  prologue?: Node;
  matmul: Node;
  /** the elementwise ops from the matmul to X, in order */
  epilogue: Node[];
  x: Node;
  heads: number;
  headDim: number;
  parts: QkvPart[];
  /** the rope's cos and sin (arg ids), shared by every rotated part */
  rope?: { cos: number; sin: number };
}

/**
 * Reads the form the qkv-heads rule builds: per part, transpose [0, 2, 1, 3] of (rope of) a
 * reshape to [B, S, H, D] of a last-axis slice of X; the parts tile X's columns in order, and
 * the body returns them stacked. Anything else is undefined.
 */
export function qkvBody(body: Region): QkvBody | undefined {
  const byId = new Map(body.nodes.map((n) => [n.id, n]));
  const args = new Set(body.args.map((a) => a.id));
  const out = byId.get(body.output);
  if (out?.op !== 'concat' || out.attrs.axis !== 0) return undefined;
  const head = epilogueBody({ ...body, nodes: body.nodes.filter((n) => n.op === 'matmul' || n.op === 'layer_norm' || getOp(n.op).category === 'elementwise') });
  if (!head) return undefined;
  const x = head.rest.length ? head.rest[head.rest.length - 1] : head.matmul;
  if (x.type.shape.length !== 3) return undefined;
  const N = x.type.shape[2];
  let heads = 0;
  let headDim = 0;
  let rope: QkvBody['rope'];
  const parts: QkvPart[] = [];
  for (const lifted of out.inputs.map((i) => byId.get(i))) {
    const root = lifted?.op === 'reshape' ? byId.get(lifted.inputs[0]) : undefined;
    if (root?.op !== 'transpose' || JSON.stringify(attrsOf(root, 'transpose').perm) !== '[0,2,1,3]') return undefined;
    let inner = byId.get(root.inputs[0]);
    let rotated = false;
    if (inner?.op === 'rope') {
      const [, cos, sin] = inner.inputs;
      if (!args.has(cos) || !args.has(sin) || (rope && (rope.cos !== cos || rope.sin !== sin))) return undefined;
      rope = { cos, sin };
      rotated = true;
      inner = byId.get(inner.inputs[0]);
    }
    const slice = inner?.op === 'reshape' ? byId.get(inner.inputs[0]) : undefined;
    if (!inner || slice?.op !== 'slice' || slice.inputs[0] !== x.id) return undefined;
    const a = attrsOf(slice, 'slice');
    const shape = attrsOf(inner, 'reshape').shape;
    const [H, D] = [shape[2], shape[3]];
    if (normaliseAxis(a.axis, 3) !== 2 || typeof a.start !== 'number' || typeof a.end !== 'number' || typeof H !== 'number' || typeof D !== 'number') return undefined;
    // the store indexes a part by X's own [b, s]: the reshape must only split the column axis
    if (!shapeEq(shape.slice(0, 2), x.type.shape.slice(0, 2))) return undefined;
    if (D % 2 !== 0 || a.end - a.start !== H * D || (heads && (heads !== H || headDim !== D))) return undefined;
    [heads, headDim] = [H, D];
    parts.push({ start: a.start, rotated });
  }
  // The parts tile X's columns in order, so a column's part is column / (H * D).
  const width = heads * headDim;
  if (typeof N !== 'number' || N !== width * parts.length || parts.some((p, i) => p.start !== i * width)) return undefined;
  return { ...(head.prologue ? { prologue: head.prologue } : {}), matmul: head.matmul, epilogue: head.rest, x, heads, headDim, parts, ...(rope ? { rope } : {}) };
}

/**
 * The qkv-heads store, as one WGSL function per kernel: X at the matmul's index and at its pair
 * partner (the epilogue applied to both), rotated when the column's part is, written at
 * [b, h, s, d] of that part's destination (a head-major activation, or the KV cache at P).
 */
export function qkvStore(q: QkvBody, epilogue: Epilogue, dests: readonly View[], cos?: Value, sin?: Value): PairStore {
  const made = new WeakMap<KernelWriter, string>();
  const [H, D] = [q.heads, q.headDim];
  const partShape = [q.x.type.shape[0], H, q.x.type.shape[1], D];
  const pairShape = [q.x.type.shape[0], q.x.type.shape[1], H, D / 2]; // rope's pairs, [B, S, H, D/2]
  return (k, at, acc, partner) => {
    let name = made.get(k);
    if (!name) {
      const params = ['acc: f32', 'accp: f32', 'i0: u32', 'i1: u32', 'i2: u32', 'flat: u32'].join(', ');
      name = k.func('qkv_store', params, undefined, () => {
        const x = epilogue(k, 'acc', { axes: ['i0', 'i1', 'i2'], flat: 'flat' });
        const xp = epilogue(k, 'accp', { axes: ['i0', 'i1', '(i2 ^ 1u)'], flat: '(flat ^ 1u)' });
        k.line(`let part = i2 / ${H * D}u;`);
        k.line(`let c = i2 % ${H * D}u;`);
        k.line(`let h = c / ${D}u;`);
        k.line(`let d = c % ${D}u;`);
        let rotated = x;
        if (q.rope && cos && sin) {
          const pair = { axes: ['i0', 'i1', 'h', '(d >> 1u)'] };
          const cv = k.let(cos.emit(k, broadcastIndex(pair, pairShape, cos.shape)), 'c');
          const sv = k.let(sin.emit(k, broadcastIndex(pair, pairShape, sin.shape)), 's');
          const xv = k.let(x, 'x');
          const xpv = k.let(xp, 'xp');
          // even lane: x c - x' s; odd lane: x' s + x c (x' is the partner)
          rotated = k.let(`select(${xpv} * ${sv} + ${xv} * ${cv}, ${xv} * ${cv} - ${xpv} * ${sv}, (d & 1u) == 0u)`, 'r');
          k.line(`let plain = ${xv};`);
        } else k.line(`let plain = ${x};`);
        const addrs = dests.map((v) => k.let(address(k, v, partShape, { axes: ['i0', 'h', 'i1', 'd'] }), 'at'));
        q.parts.forEach((p, i) => {
          const value = p.rotated ? rotated : 'plain';
          k.line(`${i === 0 ? '' : 'else '}if (part == ${i}u) { ${k.store(dests[i].buffer, addrs[i], value)} }`);
        });
      });
      made.set(k, name);
    }
    if (at.flat === undefined || at.axes.length !== 3) throw new Error('internal: the qkv store needs [b, s, n] and the flat index');
    return `${name}(${acc}, ${partner}, ${[...at.axes, at.flat].join(', ')});`;
  };
}
