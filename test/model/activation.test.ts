// config.json's activation_function, end to end: a checkpoint written by rhc, its config.json
// edited to each activation GPT-2 configs use, gives the logits of the float64 oracle with that
// activation (test/helpers/gpt2-f64.ts, transformers' formulas) on the cpu backend, and on onnx
// and webgpu for relu and gelu; --set overrides it; any other value is a one-line error.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSetOption } from '../../src/dsl/config.ts';
import { readNpy } from '../../src/io/npy.ts';
import { initModel, loadModel, saveModel, type Model } from '../../src/model/model.ts';
import { cpuBackend } from '../../src/runtime/backends.ts';
import { interpret, paramTensors } from '../../src/runtime/reference/interpreter.ts';
import { gpt2ForwardF64, relMaxDiff, type ActivationF64, type ModelConfigF64 } from '../helpers/gpt2-f64.ts';
import { rhc, ROOT, tempDir } from '../helpers/rh.ts';
import { buildArtifact } from '../../backends/webgpu/artifact.ts';
import { checkCheckpointConfig } from '../../src/runtime/webgpu/artifact-model.ts';
import { rhcErrorOf } from '../helpers/errors.ts';

const DIMS = { n_embd: 32, n_head: 4, n_layer: 2, n_positions: 16, vocab_size: 96 };
const IDS = [3, 95, 0, 41, 41, 7, 60, 12];
const ACTS: ActivationF64[] = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'gelu', 'relu', 'silu', 'swish', 'quick_gelu'];
/** An activation whose logits must differ from each one's: the check tells them apart. */
const NEIGHBOUR: Record<ActivationF64, ActivationF64> = {
  gelu_new: 'gelu', gelu_pytorch_tanh: 'gelu', gelu_fast: 'gelu', gelu: 'gelu_new', relu: 'gelu', silu: 'quick_gelu', swish: 'gelu', quick_gelu: 'silu',
};
const ACCEPTED = '"gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "relu", "silu", "swish", "quick_gelu"';

const tmp = tempDir();
const dirOf = (act: string) => path.join(tmp, act);
const oracle = (m: Model, act: ActivationF64) => {
  const cfg: ModelConfigF64 = { ...DIMS, layer_norm_epsilon: 1e-5, variant: 'gpt2-abs', activation_function: act };
  return gpt2ForwardF64(m.weights, cfg, IDS);
};
const forwardF32 = (m: Model) => cpuBackend().forward({ graph: m.graph, weights: m.weights, ids: Int32Array.from(IDS), batch: 1, seq: IDS.length });
/** The interpreter in float64 (cpuBackend rounds its result to f32). */
function forwardF64(m: Model): ArrayLike<number> {
  const ids = { dtype: 'i32' as const, shape: [1, IDS.length], data: Int32Array.from(IDS) };
  const pos = { dtype: 'i32' as const, shape: [IDS.length], data: Int32Array.from(IDS, (_, i) => i) };
  const inputs = new Map([['ids', ids], ['pos', pos]]);
  return interpret(m.graph, { precision: 'f64', params: paramTensors(m.graph, m.weights), inputs }).get('logits')!.data;
}

beforeAll(() => {
  const m = initModel(path.join(ROOT, 'spec/gpt2-abs.rh'), { seed: 5, overrides: Object.entries(DIMS).map(([k, v]) => parseSetOption(`${k}=${v}`)) });
  // GPT-2's init keeps c_fc's outputs near 0, where the activations barely differ: widen them
  // to about N(0, 4^2) so negative inputs, saturation and the curve's shape all count.
  for (const [name, w] of m.weights) if (/mlp\.c_fc\.weight$/.test(name)) for (let i = 0; i < w.length; i++) w[i] = Math.fround(w[i] * 40);
  for (const act of ACTS) {
    saveModel(m, dirOf(act));
    const file = path.join(dirOf(act), 'config.json');
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(cfg.activation_function).toBe('gelu_new'); // what init-weights records by default
    fs.writeFileSync(file, JSON.stringify({ ...cfg, activation_function: act }, null, 2));
  }
  const bad = path.join(tmp, 'swiglu');
  saveModel(m, bad);
  const file = path.join(bad, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), activation_function: 'swiglu' }));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('activation_function from config.json on the cpu backend', () => {
  it.each(ACTS)('%s: logits equal the oracle with that activation (f64 to rounding, f32 to 1e-4)', async (act) => {
    const m = loadModel(dirOf(act));
    expect(m.graph.config.activation_function).toBe(act);
    expect(m.hfConfig.activation_function).toBe(act); // what a checkpoint saved from it records
    const want = oracle(m, act);
    const f64 = forwardF64(m);
    expect(relMaxDiff(f64, want)).toBeLessThan(1e-10);
    expect(relMaxDiff(await forwardF32(m), want)).toBeLessThan(1e-4);
    expect(relMaxDiff(f64, oracle(m, NEIGHBOUR[act]))).toBeGreaterThan(1e-6);
  });

  it('--set activation_function overrides config.json, and init-weights records it', async () => {
    const m = loadModel(dirOf('gelu_new'), { overrides: [parseSetOption('activation_function=relu')] });
    expect(relMaxDiff(forwardF64(m), oracle(m, 'relu'))).toBeLessThan(1e-10);
    expect(m.hfConfig.activation_function).toBe('relu');
    const fresh = initModel(path.join(ROOT, 'spec/gpt2-abs.rh'), { overrides: [parseSetOption('n_layer=1'), parseSetOption('activation_function=silu')] });
    expect(fresh.hfConfig.activation_function).toBe('silu');
  });
});

describe('a compiled WebGPU artifact records the activation', () => {
  it('refuses a checkpoint of another activation_function, and takes one of its own', () => {
    const m = loadModel(dirOf('gelu_new'));
    const { manifest } = buildArtifact(m.graph, { specFile: m.specFile });
    expect(manifest.config.activation_function).toBe('gelu_new');
    const read = (act: string) => JSON.parse(fs.readFileSync(path.join(dirOf(act), 'config.json'), 'utf8'));
    checkCheckpointConfig(manifest, read('gelu_new'), 'gelu_new/config.json');
    const err = rhcErrorOf(() => checkCheckpointConfig(manifest, read('relu'), 'relu/config.json')).message;
    expect(err).toContain('activation_function is "relu", the artifact was compiled with gelu_new');
    expect(err).toContain('--set activation_function=relu');
  });
});

describe('rhc forward with other backends and bad values', () => {
  for (const backend of ['onnx', 'webgpu'])
    it.each(['relu', 'gelu'] as const)(`--backend ${backend}: %s matches the oracle`, (act) => {
      const out = path.join(tmp, `${act}-${backend}.npy`);
      const r = rhc(['forward', dirOf(act), '--ids', IDS.join(','), '--backend', backend, '--out', out]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const got = readNpy(out).data;
      const m = loadModel(dirOf(act));
      expect(relMaxDiff(got, oracle(m, act))).toBeLessThan(1e-4);
      // gelu and gelu_new differ by less than f32's tolerance here; relu and gelu do not
      expect(relMaxDiff(got, oracle(m, act === 'relu' ? 'gelu' : 'relu'))).toBeGreaterThan(1e-3);
    });

  it('an unknown activation_function is a one-line error naming config.json, the key, the value and the accepted values', () => {
    const dir = path.join(tmp, 'swiglu');
    const r = rhc(['forward', dir, '--ids', '1,2', '--out', path.join(tmp, 'never.npy')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${path.join(dir, 'config.json')}: activation_function "swiglu" is not supported; the spec accepts ${ACCEPTED}`);
    expect(fs.existsSync(path.join(tmp, 'never.npy'))).toBe(false);
    const s = rhc(['forward', dirOf('relu'), '--ids', '1,2', '--set', 'activation_function=GELU', '--out', path.join(tmp, 'never.npy')]);
    expect(s.status).toBe(1);
    expect(s.stderr).toContain(`--set: activation_function "GELU" is not supported; the spec accepts ${ACCEPTED}`);
  });
});
