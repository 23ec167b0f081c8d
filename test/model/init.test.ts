// initModel refuses a model bigger than the machine before allocating any of it.

import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initModel } from '../../src/model/model.ts';
import { ROOT } from '../helpers/rh.ts';

describe('initModel', () => {
  it('refuses, in a line, weights that need more memory than the machine has', () => {
    const overrides = [['n_embd', 16384], ['n_head', 16], ['n_layer', 48]].map(([name, value]) => ({ name: name as string, value, origin: '--set', strict: true }));
    // 48 layers of 12 * 16384^2 weights, plus the embeddings: hand-counted, about 155 billion.
    const params = 48 * (12 * 16384 ** 2 + 13 * 16384) + 50257 * 16384 + 1024 * 16384 + 2 * 16384;
    expect(4 * params).toBeGreaterThan(os.totalmem());
    const started = Date.now();
    expect(() => initModel(path.join(ROOT, 'spec/gpt2-abs.rh'), { overrides })).toThrow(
      new RegExp(`^the model's ${params.toLocaleString('en-US')} parameters need [\\d.]+ GiB of float32 weights, more than this machine's`),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
