// rotationFrequencies on a graph and a tensor getter (what the browser demo calls; rhc plot's
// modelFrequencies wraps it and test/cli/plot.test.ts checks every variant's formula).

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lowerSpec } from '../../src/model/model.ts';
import { rotationFrequencies } from '../../src/model/frequencies.ts';
import { ROOT } from '../helpers/rh.ts';

const overrides = [
  { name: 'n_layer', value: 2, origin: '--set', strict: true },
  { name: 'n_embd', value: 24, origin: '--set', strict: true },
  { name: 'n_head', value: 3, origin: '--set', strict: true },
];
const spec = (name: string) => path.join(ROOT, 'spec', `${name}.rh`);

describe('rotationFrequencies', () => {
  it("reads LR's learned tensor of each layer from the getter, row by head", () => {
    const graph = lowerSpec(spec('lr'), overrides);
    const F = (l: number, h: number, i: number) => 0.5 + l + 0.1 * h - 0.01 * i;
    const asked: string[] = [];
    const got = rotationFrequencies(graph, (name) => {
      asked.push(name);
      const l = Number(/h\.(\d+)\./.exec(name)![1]);
      return Float32Array.from({ length: 12 }, (_, k) => F(l, Math.floor(k / 4), k % 4));
    }, 'lr.rh');
    expect(asked).toEqual(['transformer.h.0.attn.rope.frequencies', 'transformer.h.1.attn.rope.frequencies']);
    expect(got.length).toBe(2 * 3 * 4);
    for (const v of got) expect(v.frequency).toBeCloseTo(F(v.layer, v.head, v.index), 6);
  });

  it('names the missing tensor, and refuses a model that rotates nothing', () => {
    expect(() => rotationFrequencies(lowerSpec(spec('lr'), overrides), () => undefined, 'lr.rh')).toThrow("lr.rh: the checkpoint has no tensor 'transformer.h.0.attn.rope.frequencies'");
    expect(() => rotationFrequencies(lowerSpec(spec('gpt2-abs'), overrides), () => undefined, 'gpt2-abs.rh')).toThrow(/plain GPT-2 .* has no rotation frequencies/);
  });
});
