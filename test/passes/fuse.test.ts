// The fusion pass and each rule of src/passes/fusion-rules.ts on tiny IR, without a GPU: which
// nodes a region takes, what it hands out, and that a fused graph computes what the graph it
// came from computes (the reference interpreter evaluates regions by their bodies).

import { describe, expect, it } from 'vitest';
import { GraphBuilder, isRegion, type Graph, type Node } from '../../src/ir/graph.ts';
import { sym } from '../../src/ir/dims.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { fuse, findRegions } from '../../src/passes/fuse.ts';
import { FUSION_RULES } from '../../src/passes/fusion-rules.ts';
import { graphFromJson, graphToJson } from '../../src/ir/serialize.ts';
import { printGraph } from '../../src/ir/printer.ts';
import { runPipeline } from '../../src/passes/pipeline.ts';
import { eliminateCommonSubexpressions } from '../../src/passes/cse.ts';
import { Rng } from '../../src/io/rng.ts';
import { compileSpec, countOps, randomIds, randomWeights, runReference, SMALL, SPECS } from './fixtures.ts';

const B = sym('B');
const S = sym('S');

function randomInput(shape: number[], seed: number): RefTensor {
  const data = new Float64Array(shape.reduce((a, d) => a * d, 1));
  const rng = new Rng(seed);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform() * 2 - 1;
  return { dtype: 'f32', shape, data };
}

function evaluate(g: Graph, inputs: Record<string, RefTensor>): Map<string, RefTensor> {
  return interpret(g, { inputs: new Map(Object.entries(inputs)), params: new Map(), precision: 'f64' });
}

const fusedNodes = (g: Graph): Node[] => g.nodes.filter((n) => n.op === 'fused');

/** x [B, S, 8] @ w [8, 8] + b, then GELU's tanh form: one epilogue region. */
function mlpGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [B, S, 8] });
  const w = b.add('input', [], { name: 'w', dtype: 'f32', shape: [8, 8] });
  const bias = b.add('input', [], { name: 'bias', dtype: 'f32', shape: [8] });
  const h = b.add('add', [b.add('matmul', [x, w]), bias]);
  const half = b.add('const', [], { dtype: 'f32', value: 0.5 });
  const gelu = b.add('mul', [b.add('mul', [half, h]), b.add('add', [b.add('const', [], { dtype: 'f32', value: 1 }), b.add('tanh', [h])])]);
  return b.finish('mlp', ['B', 'S'], [{ name: 'y', id: gelu }], {});
}

/** c_attn of one layer: [B, S, 12] = x @ w + b, split into q, k, v [B, 2, S, 2]; q and k rotated. */
function qkvGraph(rotate: boolean): Graph {
  const b = new GraphBuilder();
  const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [B, S, 4] });
  const w = b.add('input', [], { name: 'w', dtype: 'f32', shape: [4, 12] });
  const bias = b.add('input', [], { name: 'bias', dtype: 'f32', shape: [12] });
  const cos = b.add('input', [], { name: 'cos', dtype: 'f32', shape: [S, 2, 1] });
  const sin = b.add('input', [], { name: 'sin', dtype: 'f32', shape: [S, 2, 1] });
  const y = b.add('add', [b.add('matmul', [x, w]), bias]);
  const part = (t: number, roped: boolean) => {
    let p = b.add('reshape', [b.add('slice', [y], { axis: -1, start: 4 * t, end: 4 * t + 4 })], { shape: [B, S, 2, 2] });
    if (roped) p = b.add('rope', [p, cos, sin]);
    return b.add('transpose', [p], { perm: [0, 2, 1, 3] });
  };
  const [q, k, v] = [part(0, rotate), part(1, rotate), part(2, false)];
  const out = b.add('attention', [q, k, v], { scale: 0.7, causal: true });
  return b.finish('qkv', ['B', 'S'], [{ name: 'out', id: out }, { name: 'k', id: k }], {});
}

const qkvInputs = () => ({ x: randomInput([2, 3, 4], 1), w: randomInput([4, 12], 2), bias: randomInput([12], 3), cos: randomInput([3, 2, 1], 4), sin: randomInput([3, 2, 1], 5) });

describe('fuse', () => {
  it('matmul-epilogue: the matmul, its bias and the whole GELU in one region, with the same values', () => {
    const g = mlpGraph();
    const out = fuse(g, 1);
    const [region] = fusedNodes(out);
    expect(fusedNodes(out)).toHaveLength(1);
    expect(region.attrs.rule).toBe('matmul-epilogue');
    const body = region.attrs.body;
    if (!isRegion(body)) throw new Error('no body');
    expect(body.nodes.map((n) => n.op)).toEqual(['matmul', 'add', 'mul', 'tanh', 'add', 'mul']);
    expect(out.outputs[0].id).toBe(region.id);
    const inputs = { x: randomInput([2, 3, 8], 1), w: randomInput([8, 8], 2), bias: randomInput([8], 3) };
    expect(evaluate(out, inputs).get('y')!.data).toEqual(evaluate(g, inputs).get('y')!.data);
  });

  it('matmul-epilogue: stops where a node reads the region and something outside that depends on it', () => {
    const b = new GraphBuilder();
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [2, 4] });
    const w = b.add('input', [], { name: 'w', dtype: 'f32', shape: [4, 4] });
    const m = b.add('matmul', [x, w]);
    const e = b.add('exp', [m]);
    const s = b.add('softmax', [e], { axis: -1 }); // a kernel: never joins
    const both = b.add('add', [e, s]); // reads the region and softmax, which reads the region
    const g = b.finish('t', [], [{ name: 'y', id: both }], {});
    const out = fuse(g, 2);
    const [region] = fusedNodes(out);
    if (!isRegion(region.attrs.body)) throw new Error('no body');
    expect(region.attrs.body.nodes.map((n) => n.op)).toEqual(['matmul', 'exp']);
    const inputs = { x: randomInput([2, 4], 1), w: randomInput([4, 4], 2) };
    expect(evaluate(out, inputs).get('y')!.data).toEqual(evaluate(g, inputs).get('y')!.data);
  });

  it('matmul-epilogue: a matmul read by two kernels hands out the matmul itself, so it forms no region', () => {
    const b = new GraphBuilder();
    const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [2, 4] });
    const m = b.add('matmul', [x, b.add('input', [], { name: 'w', dtype: 'f32', shape: [4, 4] })]);
    const y = b.add('add', [b.add('softmax', [m], { axis: -1 }), b.add('exp', [m])]);
    const g = b.finish('t', [], [{ name: 'y', id: y }], {});
    expect(fusedNodes(fuse(g, 2))).toHaveLength(0);
  });

  it.each([true, false])('qkv-heads (rotate %s): q, k, v stacked head-major [3, B, H, S, D], read back as slices', (rotate) => {
    const g = qkvGraph(rotate);
    const out = fuse(g, 2);
    const [region] = fusedNodes(out);
    expect(fusedNodes(out)).toHaveLength(1);
    expect(region.attrs.rule).toBe('qkv-heads');
    expect(region.type.shape).toEqual([3, B, 2, S, 2]);
    expect(countOps(out, 'rope')).toBe(0); // inside the region
    expect(countOps(out, 'slice')).toBe(3); // the parts, outside
    for (const [name, t] of evaluate(g, qkvInputs())) expect(evaluate(out, qkvInputs()).get(name)!.data, name).toEqual(t.data);
  });

  it('levels: -O1 has no qkv-heads (its matmul gets a plain epilogue), -O0 nothing', () => {
    const g = qkvGraph(true);
    expect(fusedNodes(fuse(g, 1)).map((n) => n.attrs.rule)).toEqual(['matmul-epilogue']);
    expect(fuse(g, 0)).toBe(g);
    expect(FUSION_RULES.map((r) => r.level)).toEqual([2, 2, 1]);
  });

  it('norm-matmul: the LayerNorm joins when the matmul is its only reader, and not otherwise', () => {
    const build = (twoReaders: boolean) => {
      const b = new GraphBuilder();
      const x = b.add('input', [], { name: 'x', dtype: 'f32', shape: [B, 4] });
      const w = b.add('input', [], { name: 'w', dtype: 'f32', shape: [4, 4] });
      const [gamma, beta] = ['gamma', 'beta'].map((name) => b.add('input', [], { name, dtype: 'f32', shape: [4] }));
      const ln = b.add('layer_norm', [x, gamma, beta], { eps: 1e-5 });
      const y = b.add('tanh', [b.add('matmul', [ln, w])]);
      return b.finish('t', ['B'], [{ name: 'y', id: y }, ...(twoReaders ? [{ name: 'ln', id: ln }] : [])], {});
    };
    const one = fuse(build(false), 2);
    const [region] = fusedNodes(one);
    if (!isRegion(region.attrs.body)) throw new Error('no body');
    expect(region.attrs.rule).toBe('norm-matmul');
    expect(region.attrs.body.nodes.map((n) => n.op)).toEqual(['layer_norm', 'matmul', 'tanh']);
    const inputs = { x: randomInput([3, 4], 1), w: randomInput([4, 4], 2), gamma: randomInput([4], 3), beta: randomInput([4], 4) };
    expect(evaluate(one, inputs).get('y')!.data).toEqual(evaluate(build(false), inputs).get('y')!.data);
    // read outside too: the norm stays a node of its own, the matmul takes only its epilogue
    const two = fuse(build(true), 2);
    expect(fusedNodes(two).map((n) => n.attrs.rule)).toEqual(['matmul-epilogue']);
    expect(countOps(two, 'layer_norm')).toBe(1);
    // at -O1 no prologue
    expect(fusedNodes(fuse(build(false), 1)).map((n) => n.attrs.rule)).toEqual(['matmul-epilogue']);
  });

  it('a region grows only from an anchor no earlier rule took', () => {
    const regions = findRegions(qkvGraph(true), 2);
    expect(regions.map((r) => r.rule.name)).toEqual(['qkv-heads']);
  });

  it('fused graphs print their bodies, survive JSON, and CSE leaves them alone', () => {
    const out = fuse(qkvGraph(true), 2);
    const text = printGraph(out);
    expect(text).toMatch(/= fused %\d+ %\d+ %\d+ %\d+ %\d+ \{rule=qkv-heads\}/);
    expect(text).toMatch(/\n {6}%\d+: f32\[B, S, 12\] = matmul/);
    expect(text).toMatch(/yield %\d+/);
    const back = graphFromJson(JSON.parse(JSON.stringify(graphToJson(out))));
    expect(printGraph(back)).toBe(text);
    expect(evaluate(back, qkvInputs()).get('out')!.data).toEqual(evaluate(out, qkvInputs()).get('out')!.data);
    expect(fusedNodes(eliminateCommonSubexpressions(out))).toHaveLength(1);
  });

  it.each(SPECS)('%s: the standard pipeline with fusion keeps the logits; every matmul and LayerNorm is in a region', (spec) => {
    const g = compileSpec(spec);
    const plain = runPipeline(g, { tabulate: true, kvCache: false });
    const fused = runPipeline(g, { tabulate: true, kvCache: false, fuse: true });
    expect(countOps(fused, 'matmul')).toBe(0);
    // ln_1, ln_2 and ln_f are prologues; gp-norm's and lr-norm's frequency LayerNorms read no matmul
    expect(countOps(fused, 'layer_norm')).toBe(spec === 'gp-norm' || spec === 'lr-norm' ? countOps(plain, 'layer_norm') - 2 * SMALL.n_layer - 1 : 0);
    const rules = fusedNodes(fused).map((n) => String(n.attrs.rule));
    expect(rules.filter((r) => r === 'qkv-heads')).toHaveLength(SMALL.n_layer);
    expect(rules.filter((r) => r === 'norm-matmul')).toHaveLength(SMALL.n_layer + 1); // c_fc, and the lm_head
    const w = randomWeights(g);
    const ids = randomIds(10, SMALL.vocab_size);
    expect(runReference(fused, w, ids, 2, 5).get('logits')!.data).toEqual(runReference(plain, w, ids, 2, 5).get('logits')!.data);
  });
});
