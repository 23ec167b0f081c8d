import { describe, expect, it } from 'vitest';
import { getPass, PASSES, PIPELINE, pipelineFor, pipelineStages, runPipeline } from '../../src/passes/pipeline.ts';
import { printGraph } from '../../src/ir/printer.ts';
import { graphFromJson, graphToJson } from '../../src/ir/serialize.ts';
import { compileSpec, countOps, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from './fixtures.ts';

describe('pipeline', () => {
  it('names every pass once and runs the default pipeline in order', () => {
    const names = PASSES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['dce', 'cse', 'fold-constants', 'tabulate-positions', 'kv-cache']));
    const stages = pipelineStages(compileSpec('gp'));
    expect(stages.map((s) => s.pass)).toEqual(['input', ...PIPELINE]);
    expect(() => getPass('nope')).toThrow(/unknown pass 'nope'/);
  });

  it('names each backend variant from the one pipeline', () => {
    expect(pipelineFor({ tabulate: true, kvCache: false })).toEqual(PIPELINE);
    expect(pipelineFor({ tabulate: true, kvCache: true })).toEqual([...PIPELINE, 'kv-cache']);
    expect(pipelineFor({ tabulate: false, kvCache: false })).toEqual(['cse', 'fold-constants', 'cse', 'dce']);
    expect(pipelineFor({ tabulate: false, kvCache: true })).toEqual(['cse', 'fold-constants', 'cse', 'dce', 'kv-cache']);
    const g = compileSpec('rope');
    expect(printGraph(runPipeline(g, { tabulate: false, kvCache: false }))).toBe(printGraph(runPipeline(g, ['cse', 'fold-constants', 'cse', 'dce'])));
  });

  it('keeps the logits of every variant and shrinks the graph', () => {
    for (const spec of SPECS) {
      const g = compileSpec(spec);
      const out = runPipeline(g);
      expect(out.nodes.length, spec).toBeLessThan(g.nodes.length);
      const w = randomWeights(g);
      const ids = randomIds(10, SMALL.vocab_size, 5);
      const want = runReference(g, w, ids, 2, 5).get('logits')!.data;
      expect(relativeError(runReference(out, w, ids, 2, 5).get('logits')!.data, want), spec).toBeLessThan(1e-12);
    }
  });

  it('prints tensor constants abbreviated and round-trips them through IR JSON', () => {
    const g = runPipeline(compileSpec('rope'));
    const text = printGraph(g);
    expect(text).toMatch(/const \{dtype=f32, shape=\[32, 4, 4\], data=\[1, 1, 1, 1, \.\.\. \(512 values\)\]\}/);
    expect(text.length).toBeLessThan(20_000);
    const back = graphFromJson(JSON.parse(JSON.stringify(graphToJson(g))));
    expect(printGraph(back)).toBe(text);
    expect(countOps(back, 'const')).toBe(countOps(g, 'const'));
    const w = randomWeights(g);
    const ids = randomIds(6, SMALL.vocab_size);
    expect(runReference(back, w, ids, 1, 6).get('logits')!.data).toEqual(runReference(g, w, ids, 1, 6).get('logits')!.data);
  });
});
