import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { lowerSpec } from '../../src/model/model.ts';
import { graphFromJson, graphToJson } from '../../src/ir/serialize.ts';
import { printGraph } from '../../src/ir/printer.ts';
import { ROOT } from '../helpers/rh.ts';

const small = ['n_embd=16', 'n_head=2', 'n_layer=1', 'vocab_size=40', 'n_positions=8'].map((s) => {
  const [name, value] = s.split('=');
  return { name, value, origin: '--set', strict: true };
});

describe('IR text and JSON', () => {
  const graph = lowerSpec(path.join(ROOT, 'spec/lr-norm.rh'), small);
  it('round-trips through JSON exactly', () => {
    const back = graphFromJson(JSON.parse(JSON.stringify(graphToJson(graph))));
    expect(printGraph(back)).toBe(printGraph(graph));
    expect(back.nodes.length).toBe(graph.nodes.length);
  });
  it('prints one typed node per line with checkpoint names', () => {
    const text = printGraph(graph);
    expect(text).toMatch(/^graph lr_norm\(B, S\)$/m);
    expect(text).toMatch(/= param \{name=transformer\.h\.0\.attn\.rope\.frequencies, init=normal\(1\)\}/);
    expect(text).toMatch(/: f32\[B, S, 2, 8\] = rope %\d+ %\d+ %\d+/);
    expect(text).toMatch(/return logits = %\d+$/m);
  });
});
