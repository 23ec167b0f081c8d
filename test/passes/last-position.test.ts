import { describe, expect, it } from 'vitest';
import { GraphBuilder, nodeMap, type Graph } from '../../src/ir/graph.ts';
import { sym } from '../../src/ir/dims.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { typeToString } from '../../src/ir/types.ts';
import { lastPosition, lastRows } from '../../src/passes/last-position.ts';
import { pipelineFor, runPipeline } from '../../src/passes/pipeline.ts';
import { evaluateNodes } from '../../src/passes/evaluate.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { Rng } from '../../src/io/rng.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from './fixtures.ts';

const B = sym('B');
const S = sym('S');
const D = 8;
const V = 12;

function random(shape: number[], seed: number): RefTensor {
  const rng = new Rng(seed);
  const data = new Float64Array(shape.reduce((a, d) => a * d, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform() * 2 - 1;
  return { dtype: 'f32', shape, data };
}

/** A GPT-2 tail: x + mix(x) (positions mixed by a causal cumulative sum), ln_f, a tied lm_head, x 0.5. */
function tail(mixPositions = true): Graph {
  const b = new GraphBuilder();
  const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [B, S, D] });
  const w = b.add('input', [], { name: 'w', dtype: 'f32', shape: [D] });
  const bias = b.add('input', [], { name: 'b', dtype: 'f32', shape: [D] });
  const wte = b.add('input', [], { name: 'wte', dtype: 'f32', shape: [V, D] });
  // attention over x as queries, keys and values: row s reads rows <= s, so slicing x would be wrong
  const heads = b.add('reshape', [x], { shape: [B, 1, S, D] });
  const mixed = mixPositions ? b.add('reshape', [b.add('attention', [heads, heads, heads], { scale: 0.5, causal: true })], { shape: [B, S, D] }) : x;
  const h = b.add('add', [x, mixed], {}, 'residual');
  const n = b.add('layer_norm', [h, w, bias], { eps: 1e-5 }, 'ln_f');
  const logits = b.add('matmul', [n, b.add('transpose', [wte], { perm: [1, 0] })], {}, 'lm_head');
  const scaled = b.add('mul', [logits, b.add('const', [], { dtype: 'f32', value: 0.5 })]);
  return b.finish('tail', ['B', 'S'], [{ name: 'logits', id: scaled }], {});
}

function runTail(g: Graph, batch: number, seq: number): RefTensor {
  const inputs = new Map([['x', random([batch, seq, D], 1)], ['w', random([D], 2)], ['b', random([D], 3)], ['wte', random([V, D], 4)]]);
  return interpret(g, { inputs, params: new Map(), precision: 'f64' }).get('logits')!;
}

/** Rows [seq - rows, seq) of each batch row of logits [batch, seq, V]. */
function lastOf(t: RefTensor, batch: number, seq: number, rows = 1): Float64Array {
  const out = new Float64Array(batch * rows * V);
  for (let i = 0; i < batch; i++) out.set(t.data.subarray((i * seq + seq - rows) * V, (i * seq + seq) * V), i * rows * V);
  return out;
}

/** The A operand of the lm_head (the graph's last matmul). */
const matmulInput = (g: Graph) => {
  const byId = nodeMap(g);
  const mm = g.nodes.filter((n) => n.op === 'matmul').at(-1)!;
  return byId.get(mm.inputs[0])!;
};

describe('last-position', () => {
  it('slices the final hidden states before ln_f: logits are the last row of the full logits, the lm_head runs on one row per batch', () => {
    const g = tail();
    const cut = lastPosition(g);
    const logits = cut.nodes.find((n) => n.id === cut.outputs[0].id)!;
    expect(typeToString(logits.type)).toBe(`f32[B, 1, ${V}]`);
    // The lm_head reads [B, 1, D]: B rows, not B*S; ln_f reads the slice of the residual sum.
    expect(typeToString(matmulInput(cut).type)).toBe(`f32[B, 1, ${D}]`);
    const slice = cut.nodes.find((n) => n.op === 'slice')!;
    expect(cut.nodes.find((n) => n.op === 'layer_norm')!.inputs[0]).toBe(slice.id);
    expect(nodeMap(cut).get(slice.inputs[0])!.hint).toBe('residual');
    // The attention before it still sees every position.
    expect(typeToString(cut.nodes.find((n) => n.op === 'attention')!.type)).toBe(`f32[B, 1, S, ${D}]`);
    for (const [batch, seq] of [[2, 5], [1, 1], [3, 7]]) {
      const got = runTail(cut, batch, seq);
      expect(got.shape).toEqual([batch, 1, V]);
      expect(relativeError(got.data, lastOf(runTail(g, batch, seq), batch, seq))).toBeLessThan(1e-14);
    }
  });

  it('runs once: a graph whose logits have one position is left as it is', () => {
    const cut = lastPosition(tail());
    expect(lastPosition(cut)).toBe(cut);
  });

  it('slices logits themselves when the op producing them mixes positions', () => {
    const b = new GraphBuilder();
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [B, S, V] });
    const y = b.add('softmax', [x], { axis: 1 }); // over positions: a slice before it would change it
    const g = b.finish('t', ['B', 'S'], [{ name: 'logits', id: y }], {});
    const cut = lastPosition(g);
    const inputs = new Map([['x', random([2, 4, V], 9)]]);
    const full = interpret(g, { inputs, params: new Map(), precision: 'f64' }).get('logits')!;
    const got = interpret(cut, { inputs, params: new Map(), precision: 'f64' }).get('logits')!;
    expect(got.shape).toEqual([2, 1, V]);
    expect(relativeError(got.data, lastOf(full, 2, 4))).toBeLessThan(1e-14);
    expect(cut.nodes.find((n) => n.op === 'softmax')!.type.shape[1]).toEqual(S);
  });

  it('last-rows: R rows, a new symbol; R = 3 gives the last three rows', () => {
    const g = tail(false);
    const { graph: cut, symbol } = lastRows(g);
    expect(symbol).toBe('R');
    expect(cut.symbols).toEqual(['B', 'S', 'R']);
    expect(typeToString(matmulInput(cut).type)).toBe(`f32[B, R, ${D}]`);
    const [batch, seq] = [2, 6];
    const known = new Map<number, RefTensor>();
    const values: Record<string, RefTensor> = { x: random([batch, seq, D], 1), w: random([D], 2), b: random([D], 3), wte: random([V, D], 4) };
    for (const n of cut.nodes) if (n.op === 'input') known.set(n.id, values[n.attrs.name as string]);
    const rest = cut.nodes.filter((n) => n.op !== 'input');
    for (const rows of [3, seq]) {
      const got = evaluateNodes(rest, known, new Map([['B', batch], ['S', seq], ['R', rows]])).get(cut.outputs[0].id)!;
      expect(relativeError(got.data, lastOf(runTail(g, batch, seq), batch, seq, rows))).toBeLessThan(1e-14);
    }
    // More rows than positions is refused when the sizes are known, not read out of bounds.
    expect(() => evaluateNodes(rest, known, new Map([['B', batch], ['S', seq], ['R', seq + 1]]))).toThrow(/slice: bounds -1:6/);
  });

  it('is the decoders\' pipeline variant, after the KV cache', () => {
    expect(pipelineFor({ tabulate: false, kvCache: true, lastPosition: true })).toEqual(['cse', 'fold-constants', 'cse', 'dce', 'kv-cache', 'last-position']);
  });

  it.each(SPECS)('%s: the decoders\' graph gives the last row of the full logits, from an lm_head on [B, 1, n_embd]', (spec) => {
    const g = compileSpec(spec);
    const w = randomWeights(g, 5);
    const cut = runPipeline(g, { tabulate: false, kvCache: false, lastPosition: true });
    expect(typeToString(matmulInput(cut).type)).toBe(`f32[B, 1, ${SMALL.n_embd}]`);
    const [batch, seq] = [2, 6];
    const ids = randomIds(batch * seq, SMALL.vocab_size, 8);
    const full = runReference(g, w, ids, batch, seq).get('logits')!;
    const got = runReference(cut, w, ids, batch, seq).get('logits')!;
    const want = new Float64Array(batch * SMALL.vocab_size);
    for (let i = 0; i < batch; i++) want.set(full.data.subarray((i * seq + seq - 1) * SMALL.vocab_size, (i * seq + seq) * SMALL.vocab_size), i * SMALL.vocab_size);
    expect(got.shape).toEqual([batch, 1, SMALL.vocab_size]);
    expect(relativeError(got.data, want)).toBeLessThan(1e-12);
  });
});
