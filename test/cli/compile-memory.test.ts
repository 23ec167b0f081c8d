// `rhc compile --target webgpu` says what the plan allocates: weights and KV cache as the model's
// dims give them (every parameter's elements x 4 bytes; 2 x n_layer x n_positions x n_embd x 4
// per sequence), the rest as the written plan.json and constants.bin hold them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rhc, tempDir } from '../helpers/rh.ts';

const work = tempDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const DIMS = { n_layer: 2, n_embd: 32, n_head: 2, vocab_size: 64, n_positions: 16 };

/** GP+norm's parameters: GPT-2's (wte, wpe, per layer ln_1, c_attn, c_proj, ln_2, c_fc, mlp.c_proj; ln_f), and a LayerNorm of D/2 per layer's frequencies. */
function gpNormParameters({ n_layer: L, n_embd: E, n_head: H, vocab_size: V, n_positions: N }: typeof DIMS): number {
  const D = E / H;
  const layer = 2 * E + (E * 3 * E + 3 * E) + (E * E + E) + 2 * (D / 2) + 2 * E + (E * 4 * E + 4 * E) + (4 * E * E + E);
  return V * E + N * E + L * layer + 2 * E;
}

/** Binary units as a reader expects them: B below 1 KiB, then KiB / MiB with one decimal. */
const fmt = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

function compile(name: string, extra: string[]) {
  const out = path.join(work, name);
  const sets = Object.entries(DIMS).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const r = rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', ...sets, '-o', out, ...extra]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const plan = JSON.parse(fs.readFileSync(path.join(out, 'plan.json'), 'utf8'));
  const constants = fs.existsSync(path.join(out, 'constants.bin')) ? fs.statSync(path.join(out, 'constants.bin')).size : 0;
  const line = r.stdout.split('\n').find((l) => l.startsWith('memory: '));
  return { plan, constants, line };
}

describe('rhc compile --target webgpu: the memory line', () => {
  const weights = gpNormParameters(DIMS) * 4;
  const kvPerSequence = 2 * DIMS.n_layer * DIMS.n_positions * DIMS.n_embd * 4;

  it('gives weights and the KV cache at --max-batch as the dims do, and activations as planned and without reuse', () => {
    const { plan, constants, line } = compile('batch2', ['--max-batch', '2']);
    const bytesOf = (role: string) => plan.buffers.filter((b: { role: string }) => b.role === role).reduce((n: number, b: { bytes: number }) => n + b.bytes, 0);
    const activations = bytesOf('activation');
    const io = bytesOf('input') + bytesOf('output');
    // gp-norm's cos and sin for each layer, [n_positions, H, D/2] f32, computed at load
    const tables = 2 * DIMS.n_layer * DIMS.n_positions * (DIMS.n_embd / 2) * 4;
    expect(bytesOf('table')).toBe(tables);
    expect(weights).toBe(112256); // 28,064 parameters at these dims
    expect(plan.memory).toMatchObject({
      weights,
      constants,
      tables,
      activations: { planned: activations },
      kvCache: { perBatchRow: kvPerSequence, atMaxBatch: 2 * kvPerSequence, maxBatch: 2 },
    });
    const withoutReuse = plan.memory.activations.withoutReuse;
    expect(withoutReuse).toBeGreaterThan(activations); // the layers' activations share buffers
    expect(line).toBe(
      `memory: weights ${fmt(weights)}, tables ${fmt(constants + tables)} (${fmt(tables)} computed at load), activations ${fmt(activations)} peak (${fmt(withoutReuse)} without reuse), ` +
        `inputs and outputs ${fmt(io)}, KV cache ${fmt(kvPerSequence)} per sequence (${fmt(2 * kvPerSequence)} at batch 2)`,
    );
  });

  it('says the batch of a plan for one sequence', () => {
    const { plan, line } = compile('batch1', []);
    expect(plan.memory.kvCache).toEqual({ perBatchRow: kvPerSequence, atMaxBatch: kvPerSequence, maxBatch: 1 });
    expect(line).toMatch(new RegExp(`^memory: weights ${fmt(weights)}, .*, KV cache ${fmt(kvPerSequence)} at batch 1$`));
  });
});
