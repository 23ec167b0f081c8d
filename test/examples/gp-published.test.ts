// A new RoPE variant written in the language alone: examples/gp-published.rh must rotate
// pair i of head h at position s by s * 10^(-h/(H-1)) * base^(-2i/D).

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lowerSpec } from '../../src/model/model.ts';
import { interpret } from '../../src/runtime/reference/interpreter.ts';
import { ROOT, writeFiles } from '../helpers/rh.ts';

describe('examples/gp-published.rh', () => {
  it('uses the published head schedule', () => {
    const H = 4, D = 8, S = 5;
    const dir = writeFiles({
      'probe.rh': `import "${path.join(ROOT, 'examples/gp-published.rh')}"
module Probe {
  rope = PublishedGPRope()
  fn forward(x: f32[B, S, n_head, D], pos: i32[S]) -> f32[B, S, n_head, D] {
    return rope(x, pos)
  }
}
model probe = Probe()
`,
    });
    const set = (name: string, value: number) => ({ name, value, origin: '--set', strict: true });
    const graph = lowerSpec(path.join(dir, 'probe.rh'), [set('n_embd', H * D), set('n_head', H)]);
    // x = (1, 0) in every pair, so the output pair is (cos(angle), sin(angle)).
    const x = new Float64Array(S * H * D).map((_, k) => (k % 2 === 0 ? 1 : 0));
    const out = interpret(graph, {
      precision: 'f64',
      params: new Map(),
      inputs: new Map([
        ['x', { dtype: 'f32', shape: [1, S, H, D], data: x }],
        ['pos', { dtype: 'i32', shape: [S], data: Int32Array.from([0, 1, 2, 3, 4]) }],
      ]),
    }).get('logits')!;
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < D / 2; i++) {
          const f = 10 ** (-h / (H - 1)) * 10000 ** (-(2 * i) / D);
          const at = ((s * H + h) * D) + 2 * i;
          expect(out.data[at]).toBeCloseTo(Math.cos(s * f), 12);
          expect(out.data[at + 1]).toBeCloseTo(Math.sin(s * f), 12);
        }
  });
});
