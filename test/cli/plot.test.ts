// rhc plot: training runs and a checkpoint's rotation frequencies rendered to SVG headlessly;
// the frequencies are checked against values computed here from the tensors (SEMANTICS.md).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, loadModel, saveModel } from '../../src/model/model.ts';
import { frequencyChartSpec, metricsChartSpec, modelFrequencies, readRun } from '../../src/train/plot.ts';
import { ROOT, rhc, tempDir } from '../helpers/rh.ts';

const DIMS = { n_layer: 2, n_embd: 24, n_head: 3, vocab_size: 40, n_positions: 8 }; // D = 8, D/2 = 4
const overrides = Object.entries(DIMS).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
const spec = (name: string) => path.join(ROOT, 'spec', `${name}.rh`);

let dir: string;
const runDir = (name: string, lines: string[]) => {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'metrics.jsonl'), lines.join('\n') + '\n');
  return d;
};
const trainLine = (step: number, loss: number) => JSON.stringify({ step, epoch: 0, loss, lr: 1e-4, grad_norm: 0.5, tokens_per_s: 1000 });
const evalLine = (step: number, loss: number, accuracy: number) => JSON.stringify({ step, eval_loss: loss, perplexity: Math.exp(loss), accuracy, eval_tokens: 512 });

/** LR-norm frequencies f[l][h][i] set to known values, and norms that are not the identity. */
const F = (l: number, h: number, i: number) => (l + 1) * 0.3 * (h - 1) + 0.1 * i * i - 0.05 * l;
const W = (l: number, i: number) => 0.5 + 0.25 * i + l;
const B = (l: number, i: number) => 0.01 * (i + 1) * (l + 1);

beforeAll(() => {
  dir = tempDir();
  const model = initModel(spec('lr-norm'), { seed: 2, overrides });
  for (let l = 0; l < DIMS.n_layer; l++) {
    model.weights.set(`transformer.h.${l}.attn.rope.frequencies`, Float32Array.from({ length: 12 }, (_, k) => F(l, Math.floor(k / 4), k % 4)));
    model.weights.set(`transformer.h.${l}.attn.rope.layer_norm.weight`, Float32Array.from({ length: 4 }, (_, i) => W(l, i)));
    model.weights.set(`transformer.h.${l}.attn.rope.layer_norm.bias`, Float32Array.from({ length: 4 }, (_, i) => B(l, i)));
  }
  saveModel(model, path.join(dir, 'lr-norm'));
  saveModel(initModel(spec('gp'), { overrides }), path.join(dir, 'gp'));
  saveModel(initModel(spec('rope'), { overrides: [...overrides, { name: 'base_frequency', value: 500, origin: '--set', strict: true }] }), path.join(dir, 'rope'));
  const gpNorm = initModel(spec('gp-norm'), { seed: 4, overrides });
  for (let l = 0; l < DIMS.n_layer; l++) {
    gpNorm.weights.set(`transformer.h.${l}.attn.rope.layer_norm.weight`, Float32Array.from({ length: 4 }, (_, i) => W(l, i)));
    gpNorm.weights.set(`transformer.h.${l}.attn.rope.layer_norm.bias`, Float32Array.from({ length: 4 }, (_, i) => B(l, i)));
  }
  saveModel(gpNorm, path.join(dir, 'gp-norm'));
  saveModel(initModel(spec('gpt2-abs'), { overrides }), path.join(dir, 'abs'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('rhc plot RUN_DIR...', () => {
  it('writes an SVG of loss, perplexity and accuracy naming every run', () => {
    const a = runDir('baseline-run', [trainLine(1, 5), trainLine(2, 4.5), evalLine(2, 4.6, 0.1), trainLine(3, 4.2), evalLine(3, 4.3, 0.12)]);
    const b = runDir('lr-norm-run', [trainLine(1, 5.1), trainLine(2, 4.4), '', evalLine(2, 4.5, 0.11)]);
    const out = path.join(dir, 'chart.svg');
    const r = rhc(['plot', a, b, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}: 2 runs (baseline-run, lr-norm-run)`);
    const svg = fs.readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['baseline-run', 'lr-norm-run', 'training loss', 'eval perplexity', 'eval accuracy']) expect(svg).toContain(text);
    // one legend with an entry per run, and a line per run in each of the three panels
    expect(svg.match(/class="mark-group role-legend"/g)).toHaveLength(1);
    for (const name of ['baseline-run', 'lr-norm-run']) expect(svg).toContain(`>${name}</text>`);
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(2 * 3);
  });

  it('builds three panels sharing one colour per run', () => {
    const a = readRun(runDir('one', [trainLine(1, 3), evalLine(1, 3, 0.2)]));
    const s = metricsChartSpec([a, { ...a, name: 'two' }]) as { hconcat: { encoding: { color: { scale: { domain: string[] } } } }[] };
    expect(s.hconcat).toHaveLength(3);
    expect(s.hconcat.map((p) => p.encoding.color.scale.domain)).toEqual([['one', 'two'], ['one', 'two'], ['one', 'two']]);
    expect(a.train).toEqual([{ step: 1, epoch: 0, loss: 3, lr: 1e-4, grad_norm: 0.5, tokens_per_s: 1000 }]);
    expect(a.eval).toEqual([{ step: 1, eval_loss: 3, perplexity: Math.exp(3), accuracy: 0.2, eval_tokens: 512 }]);
  });

  it('fails clearly: no metrics.jsonl, a malformed line (file:line), an unwritable -o, no runs', () => {
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    const none = rhc(['plot', empty, '-o', path.join(dir, 'x.svg')]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(`${empty} holds no metrics.jsonl`);

    const bad = runDir('bad', [trainLine(1, 3), '{"step": 2, "loss": 2.9', trainLine(3, 2.8)]);
    const malformed = rhc(['plot', bad, '-o', path.join(dir, 'x.svg')]);
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toContain(`${path.join(bad, 'metrics.jsonl')}:2: not valid JSON`);
    expect(() => readRun(runDir('bad2', [trainLine(1, 3), '{"step": "two", "loss": 1}']))).toThrow(/bad2\/metrics\.jsonl:2: 'step' must be a number, got "two"/);

    const ok = runDir('ok', [trainLine(1, 3)]);
    const unwritable = rhc(['plot', ok, '-o', path.join(dir, 'no-such-dir', 'x.svg')]);
    expect(unwritable.status).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot write .*no-such-dir\/x\.svg/);
    expect(fs.existsSync(path.join(dir, 'x.svg'))).toBe(false);

    const usage = rhc(['plot', '-o', path.join(dir, 'x.svg')]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('give at least one run directory');
  });
});

describe('rhc plot --frequencies MODEL_DIR', () => {
  it('modelFrequencies: LR frequencies through the layer norm, computed here from the tensors', () => {
    const model = loadModel(path.join(dir, 'lr-norm'));
    const got = modelFrequencies(model);
    expect(got).toHaveLength(DIMS.n_layer * DIMS.n_head * 4);
    for (let l = 0; l < DIMS.n_layer; l++)
      for (let h = 0; h < DIMS.n_head; h++) {
        const f = [0, 1, 2, 3].map((i) => Math.fround(F(l, h, i)));
        const mean = f.reduce((a, x) => a + x, 0) / 4;
        const variance = f.reduce((a, x) => a + (x - mean) ** 2, 0) / 4;
        for (let i = 0; i < 4; i++) {
          const want = ((f[i] - mean) / Math.sqrt(variance + 1e-5)) * Math.fround(W(l, i)) + Math.fround(B(l, i));
          const v = got.find((x) => x.layer === l && x.head === h && x.index === i);
          expect(v?.frequency).toBeCloseTo(want, 9);
        }
      }
  });

  it('GP: exp(linspace(0, 1, H))[h] * base^(-2i/D); plain GPT-2 has none', () => {
    const got = modelFrequencies(loadModel(path.join(dir, 'gp')));
    for (const v of got) expect(v.frequency).toBeCloseTo(Math.exp(v.head / 2) * 10000 ** (-(2 * v.index) / 8), 12);
    expect(() => modelFrequencies(loadModel(path.join(dir, 'abs')))).toThrow(/plain GPT-2 .* has no rotation frequencies/);
    const r = rhc(['plot', '--frequencies', path.join(dir, 'abs'), '-o', path.join(dir, 'abs.svg')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('has no rotation frequencies to plot');
  });

  it('standard RoPE: base^(-2i/D) for every head (base_frequency honoured); GP+norm: each GP row through its layer\'s norm', () => {
    for (const v of modelFrequencies(loadModel(path.join(dir, 'rope')))) expect(v.frequency).toBeCloseTo(500 ** (-(2 * v.index) / 8), 12);
    const got = modelFrequencies(loadModel(path.join(dir, 'gp-norm')));
    for (let l = 0; l < DIMS.n_layer; l++)
      for (let h = 0; h < DIMS.n_head; h++) {
        const f = [0, 1, 2, 3].map((i) => Math.exp(h / 2) * 10000 ** (-(2 * i) / 8));
        const mean = f.reduce((a, x) => a + x, 0) / 4;
        const variance = f.reduce((a, x) => a + (x - mean) ** 2, 0) / 4;
        for (let i = 0; i < 4; i++) {
          const want = ((f[i] - mean) / Math.sqrt(variance + 1e-5)) * Math.fround(W(l, i)) + Math.fround(B(l, i));
          expect(got.find((x) => x.layer === l && x.head === h && x.index === i)?.frequency).toBeCloseTo(want, 6);
        }
      }
  });

  it('draws one heat-map panel per layer, to SVG', () => {
    const model = loadModel(path.join(dir, 'lr-norm'));
    const s = frequencyChartSpec(model) as { data: { values: { layer: number; head: number; index: number; frequency: number }[] }; concat: { title: string; encoding: { color: { scale: { type: string } } } }[] };
    expect(s.concat.map((p) => p.title)).toEqual(['layer 0', 'layer 1']);
    // the chart's data are the frequencies computed above, one datum per (layer, head, index)
    expect(s.data.values).toHaveLength(DIMS.n_layer * DIMS.n_head * 4);
    for (const v of modelFrequencies(model)) expect(s.data.values.find((d) => d.layer === v.layer && d.head === v.head && d.index === v.index)?.frequency).toBe(v.frequency);
    expect(s.concat.every((p) => p.encoding.color.scale.type === 'log')).toBe(true);
    const out = path.join(dir, 'freq.svg');
    const r = rhc(['plot', '--frequencies', path.join(dir, 'lr-norm'), '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const svg = fs.readFileSync(out, 'utf8');
    expect(svg).toContain('layer 0');
    expect(svg).toContain('layer 1');
    expect(svg).toContain('|frequency|'); // learned frequencies can be negative: coloured by magnitude
  });
});
