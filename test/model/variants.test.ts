// Every seed variant, end to end as a user runs it (`rhc init-weights` then `rhc forward`),
// checked against the independent float64 oracle in test/helpers/gpt2-f64.ts on the weights
// read back from the checkpoint. Then the same in-process at f64 with sharpened attention,
// a batch of two, a position offset and non-default configs, where the oracle must agree to
// rounding, not just to f32 tolerance.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { initModel } from '../../src/model/model.ts';
import type { ConfigOverride } from '../../src/dsl/config.ts';
import { interpret, paramTensors } from '../../src/runtime/reference/interpreter.ts';
import { cpuBackend } from '../../src/runtime/backends.ts';
import { gpt2ForwardF64, relMaxDiff, type ModelConfigF64, type VariantF64 } from '../helpers/gpt2-f64.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const VARIANTS: VariantF64[] = ['gpt2-abs', 'rope', 'lr', 'lr-norm', 'gp', 'gp-norm'];
const DIMS = { n_embd: 32, n_head: 4, n_layer: 2, n_positions: 64, vocab_size: 300 };
const IDS = [15, 299, 0, 7, 7, 123, 42, 256];

/** What each variant's config.json must say (SEMANTICS.md "Checkpoints"). */
const CONFIG_KEYS: Record<VariantF64, { rotatinghead: string | null; use_norm: boolean }> = {
  'gpt2-abs': { rotatinghead: null, use_norm: false },
  rope: { rotatinghead: null, use_norm: false },
  lr: { rotatinghead: 'lr', use_norm: false },
  'lr-norm': { rotatinghead: 'lr', use_norm: true },
  gp: { rotatinghead: 'gp', use_norm: false },
  'gp-norm': { rotatinghead: 'gp', use_norm: true },
};

const set = (name: string, value: number): ConfigOverride => ({ name, value: String(value), origin: '--set', strict: true });

function rhc(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/rhc.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function rhcOk(...args: string[]): string {
  const r = rhc(...args);
  if (r.status !== 0) throw new Error(`rhc ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

function setArgs(dims: Record<string, number>): string[] {
  return Object.entries(dims).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
}

/** Every tensor of the checkpoint, as stored (must be F32: rhc writes F32). */
function readCheckpointWeights(dir: string): Map<string, Float32Array> {
  const f = readSafetensors(path.join(dir, 'model.safetensors'));
  const out = new Map<string, Float32Array>();
  for (const name of f.names()) {
    const t = f.get(name);
    expect(t.dtype, name).toBe('F32');
    out.set(name, t.toFloat32());
  }
  return out;
}

/** The parameter names SEMANTICS.md fixes for a variant. */
function expectedNames(v: VariantF64, nLayer: number): string[] {
  const names = ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.ln_f.weight', 'transformer.ln_f.bias'];
  for (let l = 0; l < nLayer; l++) {
    const p = `transformer.h.${l}`;
    for (const s of ['ln_1', 'attn.c_attn', 'attn.c_proj', 'ln_2', 'mlp.c_fc', 'mlp.c_proj']) names.push(`${p}.${s}.weight`, `${p}.${s}.bias`);
    if (v === 'lr' || v === 'lr-norm') names.push(`${p}.attn.rope.frequencies`);
    if (v === 'lr-norm' || v === 'gp-norm') names.push(`${p}.attn.rope.layer_norm.weight`, `${p}.attn.rope.layer_norm.bias`);
  }
  return names.sort();
}

describe('rhc init-weights + rhc forward (CLI) match the f64 oracle', () => {
  for (const v of VARIANTS) {
    it(`${v}: logits [8, 300] within 1e-4 of the oracle`, () => {
      const dir = path.join(tmp, v);
      rhcOk('init-weights', `spec/${v}.rh`, '--out', dir, '--seed', '7', ...setArgs(DIMS));
      const npy = path.join(dir, 'l.npy');
      const stdout = rhcOk('forward', dir, '--ids', IDS.join(','), '--out', npy);
      expect(stdout).toContain('[8, 300]');

      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(config).toMatchObject({ ...DIMS, layer_norm_epsilon: 1e-5, model_type: 'rotating-head-gpt2', ...CONFIG_KEYS[v] });

      const weights = readCheckpointWeights(dir);
      expect([...weights.keys()].sort()).toEqual(expectedNames(v, DIMS.n_layer));
      // GPT-2's init: LayerNorms 1/0, biases 0; LR frequencies randn (std about 1, not 0.02).
      expect(weights.get('transformer.h.1.ln_2.weight')!.every((x) => x === 1)).toBe(true);
      expect(weights.get('transformer.h.0.attn.c_attn.bias')!.every((x) => x === 0)).toBe(true);
      if (v === 'lr' || v === 'lr-norm') {
        const f = weights.get('transformer.h.0.attn.rope.frequencies')!;
        expect(Math.max(...f.map(Math.abs))).toBeGreaterThan(0.5);
      }
      if (v.endsWith('-norm')) {
        expect(weights.get('transformer.h.0.attn.rope.layer_norm.weight')!.every((x) => x === 1)).toBe(true);
        expect(weights.get('transformer.h.0.attn.rope.layer_norm.bias')!.every((x) => x === 0)).toBe(true);
      }

      const logits = readNpy(npy);
      expect(logits.dtype).toBe('float32');
      expect(logits.shape).toEqual([IDS.length, DIMS.vocab_size]);
      const cfg: ModelConfigF64 = { ...DIMS, layer_norm_epsilon: 1e-5, variant: v };
      const ref = gpt2ForwardF64(weights, cfg, IDS);
      expect(relMaxDiff(logits.data, ref)).toBeLessThan(1e-4);
      // The check can tell variants apart: the same weights without rotation are farther off.
      if (v !== 'gpt2-abs') expect(relMaxDiff(logits.data, gpt2ForwardF64(weights, { ...cfg, variant: 'gpt2-abs' }, IDS))).toBeGreaterThan(5e-4);
    });
  }

  it('the same seed gives the same weights (CLI and library); another seed other ones', () => {
    // runs after the gp test above, which wrote seed 7 to tmp/gp
    const w7 = readCheckpointWeights(path.join(tmp, 'gp'));
    const again = initModel(path.join(ROOT, 'spec/gp.rh'), { seed: 7, overrides: Object.entries(DIMS).map(([k, x]) => set(k, x)) });
    expect([...again.weights.keys()].sort()).toEqual([...w7.keys()].sort());
    for (const [name, x] of w7) expect(again.weights.get(name), name).toEqual(x);
    const b = path.join(tmp, 'seed-8');
    rhcOk('init-weights', 'spec/gp.rh', '--out', b, '--seed', '8', ...setArgs(DIMS));
    const w8 = readCheckpointWeights(b);
    expect(w8.get('transformer.wte.weight')).not.toEqual(w7.get('transformer.wte.weight'));
  });

  it('--text with the default GPT-2 vocabulary gives [10, 50257] logits matching the oracle', () => {
    const dir = path.join(tmp, 'text');
    const dims = { n_embd: 16, n_head: 2, n_layer: 1, n_positions: 32 };
    rhcOk('init-weights', 'spec/gp-norm.rh', '--out', dir, '--seed', '3', ...setArgs(dims));
    const npy = path.join(dir, 'l.npy');
    rhcOk('forward', dir, '--text', 'Hello world, this is GPT-2.', '--out', npy);
    const logits = readNpy(npy);
    expect(logits.shape).toEqual([10, 50257]);
    // GPT-2's BPE of that text, as the Hugging Face tokenizer gives it.
    const ids = [15496, 995, 11, 428, 318, 402, 11571, 12, 17, 13];
    const weights = readCheckpointWeights(dir);
    expect(weights.get('transformer.wte.weight')!.length).toBe(50257 * 16);
    const ref = gpt2ForwardF64(weights, { ...dims, vocab_size: 50257, layer_norm_epsilon: 1e-5, variant: 'gp-norm' }, ids);
    expect(relMaxDiff(logits.data, ref)).toBeLessThan(1e-4);
  });
});

// ---------------------------------------------------------------------------------------------
// In-process at f64: the interpreter's f64 path must agree with the oracle to rounding. The
// attention weights are scaled up so softmax is sharp and the rotation matters a lot, the
// LayerNorm weights/biases are made non-trivial, and the config is moved off its defaults
// (layer_norm_epsilon 1e-3 while the frequency norm must keep 1e-5, base_frequency 500).


/** Deterministic, non-trivial values for the parameters GPT-2 initialises to constants. */
function perturb(weights: Map<string, Float32Array>): void {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  for (const [name, w] of weights) {
    if (/attn\.c_attn\.weight$/.test(name)) for (let i = 0; i < w.length; i++) w[i] = Math.fround(w[i] * 40);
    else if (/(ln_1|ln_2|ln_f|layer_norm)\.weight$/.test(name)) for (let i = 0; i < w.length; i++) w[i] = Math.fround(1 + 0.5 * rnd());
    else if (/\.bias$/.test(name)) for (let i = 0; i < w.length; i++) w[i] = Math.fround(0.1 * rnd());
  }
}

describe('the interpreter at f64 agrees with the oracle to rounding', () => {
  for (const v of VARIANTS) {
    it(`${v}: batch of 2, positions 0.. and offset 5, eps 1e-3, base 500`, () => {
      const overrides = [set('n_embd', 24), set('n_head', 3), set('n_layer', 2), set('n_positions', 20), set('vocab_size', 50), set('layer_norm_epsilon', 1e-3)];
      if (v === 'rope' || v === 'gp' || v === 'gp-norm') overrides.push(set('base_frequency', 500));
      const m = initModel(path.join(ROOT, `spec/${v}.rh`), { seed: 11, overrides });
      perturb(m.weights);
      const cfg: ModelConfigF64 = { n_embd: 24, n_head: 3, n_layer: 2, n_positions: 20, vocab_size: 50, layer_norm_epsilon: 1e-3, variant: v, base_frequency: 500 };
      const seqs = [
        [3, 9, 27, 31, 49, 0, 12],
        [1, 1, 2, 3, 5, 8, 13],
      ];
      const T = seqs[0].length;
      const params = paramTensors(m.graph, m.weights);
      for (const offset of [0, 5]) {
        const out = interpret(m.graph, {
          precision: 'f64',
          params,
          inputs: new Map([
            ['ids', { dtype: 'i32' as const, shape: [2, T], data: Int32Array.from(seqs.flat()) }],
            ['pos', { dtype: 'i32' as const, shape: [T], data: Int32Array.from({ length: T }, (_, i) => i + offset) }],
          ]),
        }).get('logits')!;
        expect(out.shape).toEqual([2, T, 50]);
        expect(out.data).toBeInstanceOf(Float64Array);
        for (let b = 0; b < 2; b++) {
          const ref = gpt2ForwardF64(m.weights, cfg, seqs[b], offset);
          const got = out.data.subarray(b * T * 50, (b + 1) * T * 50);
          expect(relMaxDiff(got, ref), `batch ${b}, offset ${offset}`).toBeLessThan(1e-10);
        }
      }
    });
  }

  it('cpuBackend (f32 and f64) honours positionOffset and batch', async () => {
    const m = initModel(path.join(ROOT, 'spec/lr-norm.rh'), { seed: 5, overrides: [set('n_embd', 16), set('n_head', 2), set('n_layer', 1), set('n_positions', 16), set('vocab_size', 40)] });
    perturb(m.weights);
    const cfg: ModelConfigF64 = { n_embd: 16, n_head: 2, n_layer: 1, n_positions: 16, vocab_size: 40, layer_norm_epsilon: 1e-5, variant: 'lr-norm' };
    const seqs = [
      [4, 8, 15, 16, 23],
      [39, 0, 39, 0, 1],
    ];
    for (const precision of ['f32', 'f64'] as const) {
      const logits = await cpuBackend(precision).forward({ graph: m.graph, weights: m.weights, ids: Int32Array.from(seqs.flat()), batch: 2, seq: 5, positionOffset: 7 });
      expect(logits).toBeInstanceOf(Float32Array);
      expect(logits.length).toBe(2 * 5 * 40);
      for (let b = 0; b < 2; b++) {
        const ref = gpt2ForwardF64(m.weights, cfg, seqs[b], 7);
        expect(relMaxDiff(logits.subarray(b * 200, (b + 1) * 200), ref), `${precision} batch ${b}`).toBeLessThan(precision === 'f64' ? 1e-6 : 1e-4);
      }
    }
  });
});
