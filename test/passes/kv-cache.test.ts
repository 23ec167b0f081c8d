import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/ir/graph.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { typeToString } from '../../src/ir/types.ts';
import { addKvCache } from '../../src/passes/kv-cache.ts';
import { runPipeline } from '../../src/passes/pipeline.ts';
import { compileSpec, randomIds, randomWeights, relativeError, runReference, SMALL, SPECS } from './fixtures.ts';

const H = SMALL.n_head;
const D = SMALL.n_embd / H;

/** Decodes `ids` [batch, total] in chunks with the cached graph; returns the logits of every position. */
function decode(g: Graph, w: Map<string, Float32Array>, ids: Int32Array, batch: number, total: number, chunks: number[]): Float64Array {
  const V = SMALL.vocab_size;
  const logits = new Float64Array(batch * total * V);
  let past = new Map<string, RefTensor>();
  for (let l = 0; l < SMALL.n_layer; l++)
    for (const what of ['key', 'value'])
      past.set(`past_key_values.${l}.${what}`, { dtype: 'f32', shape: [batch, H, 0, D], data: new Float64Array(0) });
  let start = 0;
  for (const n of chunks) {
    const chunk = Int32Array.from({ length: batch * n }, (_, k) => ids[Math.floor(k / n) * total + start + (k % n)]);
    const out = runReference(g, w, chunk, batch, n, past, start);
    const l = out.get('logits')!;
    for (let b = 0; b < batch; b++) logits.set(l.data.subarray(b * n * V, (b + 1) * n * V), (b * total + start) * V);
    past = new Map([...out].filter(([k]) => k.startsWith('present.')).map(([k, v]) => [k.replace('present.', 'past_key_values.'), v]));
    start += n;
  }
  return logits;
}

describe('kv-cache', () => {
  it('adds past_key_values inputs [B, H, P, D] and present outputs [B, H, P + S, D] per layer', () => {
    const g = addKvCache(runPipeline(compileSpec('gp')));
    expect(g.symbols).toEqual(['B', 'S', 'P']);
    const pasts = g.nodes.filter((n) => n.op === 'input' && String(n.attrs.name).startsWith('past_key_values.'));
    expect(pasts.map((n) => n.attrs.name)).toEqual(['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
    expect(pasts.every((n) => typeToString(n.type) === `f32[B, ${H}, P, ${D}]`)).toBe(true);
    expect(g.outputs.map((o) => o.name)).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    const present = g.nodes.find((n) => n.id === g.outputs[1].id)!;
    expect(typeToString(present.type)).toBe(`f32[B, ${H}, P + S, ${D}]`);
    // the cached keys are the rotated ones: what attention reads
    const attn = g.nodes.find((n) => n.op === 'attention')!;
    expect(attn.inputs[1]).toBe(present.id);
    expect(() => addKvCache(g)).toThrow(/already/);
  });

  it('step-by-step logits equal full-sequence logits for every variant (f64 oracle)', () => {
    const batch = 2;
    const total = 7;
    for (const spec of SPECS) {
      const g = compileSpec(spec);
      const w = randomWeights(g);
      const ids = randomIds(batch * total, SMALL.vocab_size, 11);
      const full = runReference(g, w, ids, batch, total).get('logits')!.data;
      const cached = addKvCache(runPipeline(g));
      const stepped = decode(cached, w, ids, batch, total, [3, 1, 1, 2]);
      expect(relativeError(stepped, full), spec).toBeLessThan(1e-12);
    }
  });
});
