// Hostile checkpoints: a hand-forged tiny checkpoint (fixtures.ts) with its config.json or its
// model.safetensors mutated, run through `forward` (and a few through `compile --weights`).
// Each probe either needs a clear error (the input cannot be a checkpoint), or allows exit 0 on
// the condition that the logits equal the float64 oracle's for the config as written.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VariantF64 } from '../helpers/gpt2-f64.ts';
import type { Expect, Probe } from './harness.ts';
import { forgeCheckpoint, forgeConfig, forgeTensors, IDS_ARG, logitsAsOracle, onnxAsOracle, SEED_VARIANTS, writeTinySpecs } from './fixtures.ts';
import { ROOT } from './runner.ts';
import { forgeSafetensors, type ForgedTensor } from './formats.ts';

type Config = Record<string, unknown>;

/** The input is bad: exit 1, and the error names `what`. */
const ERR = (what: RegExp): Expect => ({ exit: [1], stderr: what });
/** The input may be fine: exit 0 with the oracle's logits, or a clear error naming `what`. */
const EITHER = (what: RegExp = /./): Expect => ({ exit: [0, 1], stderr: what, output: oracle });
/** The input is fine: exit 0 with the oracle's logits. */
const OK: Expect = { exit: [0], output: oracle };

function oracle(dir: string, r: { stderr: string }): string | undefined {
  return logitsAsOracle(path.join(dir, 'ck'), path.join(dir, 'out.npy'), r.stderr);
}

const FORWARD_WRITES = ['out.npy', /^\.out\.npy\./];

function forwardProbe(name: string, setup: (dir: string) => void, expect: Expect, timeoutMs?: number): Probe {
  return {
    family: 'checkpoint',
    name,
    setup,
    args: (dir) => ['forward', path.join(dir, 'ck'), '--ids', IDS_ARG, '--out', path.join(dir, 'out.npy')],
    expect,
    writes: FORWARD_WRITES,
    timeoutMs,
  };
}

/** A own key set as data (a key named `__proto__` stays a key). */
function put(c: Config, key: string, value: unknown): Config {
  Object.defineProperty(c, key, { value, enumerable: true, configurable: true, writable: true });
  return c;
}

function configProbe(name: string, variant: VariantF64, mutate: (c: Config) => Config | string, expect: Expect, timeoutMs?: number): Probe {
  return forwardProbe(
    `config.json: ${name} (${variant})`,
    (dir) => {
      forgeCheckpoint(path.join(dir, 'ck'), variant);
      const m = mutate(forgeConfig(variant));
      fs.writeFileSync(path.join(dir, 'ck/config.json'), typeof m === 'string' ? m : JSON.stringify(m, null, 2));
    },
    expect,
    timeoutMs,
  );
}

const without = (key: string) => (c: Config) => {
  delete c[key];
  return c;
};
const withKey = (key: string, value: unknown) => (c: Config) => put(c, key, value);

function configProbes(): Probe[] {
  const gn: VariantF64 = 'gp-norm';
  const list: [string, VariantF64, (c: Config) => Config | string, Expect, number?][] = [
    ['n_embd missing', gn, without('n_embd'), ERR(/n_embd/)],
    ['n_layer missing', gn, without('n_layer'), ERR(/n_layer/)],
    ['n_head missing', gn, without('n_head'), ERR(/n_head/)],
    ['vocab_size missing', gn, without('vocab_size'), ERR(/vocab_size/)],
    ['n_positions missing (GPT-2 default 1024 vs wpe [16, 16])', gn, without('n_positions'), ERR(/n_positions|wpe/)],
    ['layer_norm_epsilon missing (default 1e-5)', gn, without('layer_norm_epsilon'), EITHER()],
    ['activation_function missing (default gelu_new)', gn, without('activation_function'), EITHER()],
    ['n_embd "16" (a string)', gn, withKey('n_embd', '16'), ERR(/n_embd/)],
    ['n_layer 1.5', gn, withKey('n_layer', 1.5), ERR(/n_layer/)],
    ['n_layer -1', gn, withKey('n_layer', -1), ERR(/n_layer/)],
    ['n_layer 0', gn, withKey('n_layer', 0), ERR(/n_layer/)],
    ['n_layer true', gn, withKey('n_layer', true), ERR(/n_layer/)],
    ['n_layer null', gn, withKey('n_layer', null), ERR(/n_layer/)],
    ['n_layer 2 over one layer of weights', gn, withKey('n_layer', 2), ERR(/n_layer|h\.1/)],
    ['n_layer 1000000 over one layer of weights', gn, withKey('n_layer', 1_000_000), ERR(/n_layer/), 20_000],
    ['n_layer 1e300', gn, withKey('n_layer', 1e300), ERR(/n_layer/)],
    ['n_head 4 (the rope LayerNorm [4] needs [2])', gn, withKey('n_head', 4), ERR(/n_head|layer_norm|shape/)],
    ['n_head 4 (gp: no tensor changes shape)', 'gp', withKey('n_head', 4), EITHER(/n_head/)],
    ['n_head -4', gn, withKey('n_head', -4), { exit: [1], stderr: /n_head/, notStderr: /NaN/ }],
    ['n_head 3 (does not divide 16)', gn, withKey('n_head', 3), ERR(/n_head/)],
    ['n_head 0', gn, withKey('n_head', 0), ERR(/n_head/)],
    ['vocab_size 63 (wte has 64 rows)', gn, withKey('vocab_size', 63), ERR(/vocab_size|wte/)],
    ['vocab_size 1000000000', gn, withKey('vocab_size', 1e9), ERR(/vocab_size|wte/), 20_000],
    ['n_embd 32', gn, withKey('n_embd', 32), ERR(/n_embd|shape/)],
    ['n_positions 8 (wpe has 16 rows)', gn, withKey('n_positions', 8), ERR(/n_positions|wpe/)],
    ['n_positions 1000000000', gn, withKey('n_positions', 1e9), ERR(/n_positions|wpe/), 20_000],
    ['n_ctx instead of n_positions', gn, (c) => put(without('n_positions')(c), 'n_ctx', 16), EITHER()],
    ['layer_norm_epsilon 0.5', gn, withKey('layer_norm_epsilon', 0.5), EITHER()],
    ['layer_norm_epsilon 1e308', gn, withKey('layer_norm_epsilon', 1e308), EITHER()],
    ['layer_norm_epsilon 0', gn, withKey('layer_norm_epsilon', 0), ERR(/layer_norm_epsilon/)],
    ['layer_norm_epsilon -1', gn, withKey('layer_norm_epsilon', -1), ERR(/layer_norm_epsilon/)],
    ['layer_norm_epsilon "1e-5"', gn, withKey('layer_norm_epsilon', '1e-5'), ERR(/layer_norm_epsilon/)],
    ['base_frequency 500', 'gp', withKey('base_frequency', 500), EITHER()],
    ['base_frequency 500 (rope)', 'rope', withKey('base_frequency', 500), EITHER()],
    ['base_frequency 0', 'gp', withKey('base_frequency', 0), ERR(/base_frequency/)],
    ['base_frequency -10000', 'gp', withKey('base_frequency', -10000), ERR(/base_frequency/)],
    ['base_frequency "10000"', 'gp', withKey('base_frequency', '10000'), ERR(/base_frequency/)],
    ['base_frequency on plain GPT-2 (unused)', 'gpt2-abs', withKey('base_frequency', 3), EITHER()],
    ['activation_function relu', gn, withKey('activation_function', 'relu'), EITHER(/activation_function/)],
    ['activation_function gelu (the erf form)', gn, withKey('activation_function', 'gelu'), EITHER(/activation_function/)],
    ['activation_function gelu_pytorch_tanh', gn, withKey('activation_function', 'gelu_pytorch_tanh'), EITHER(/activation_function/)],
    ['activation_function "bogus"', gn, withKey('activation_function', 'bogus'), ERR(/activation_function/)],
    ['activation_function 5', gn, withKey('activation_function', 5), ERR(/activation_function/)],
    ['n_layer only inside a "__proto__" key', gn, (c) => put(without('n_layer')(c), '__proto__', { n_layer: 1 }), ERR(/n_layer/)],
    ['a "__proto__" key holding other dims', gn, withKey('__proto__', { n_embd: 32, n_layer: 7 }), EITHER()],
    ['"constructor" and "toString" keys', gn, (c) => put(put(c, 'constructor', 5), 'toString', 'x'), EITHER()],
    ['rotatinghead "rope"', gn, withKey('rotatinghead', 'rope'), ERR(/rotatinghead/)],
    ['rotatinghead 5', gn, withKey('rotatinghead', 5), ERR(/rotatinghead/)],
    ['use_norm "yes"', gn, withKey('use_norm', 'yes'), ERR(/use_norm/)],
    ['use_norm false over gp-norm weights', gn, withKey('use_norm', false), ERR(/layer_norm|does not use|tensor/)],
    ['rotatinghead lr over gp-norm weights', gn, withKey('rotatinghead', 'lr'), ERR(/frequencies|missing|tensor/)],
    ['rhc_spec "/etc/passwd"', gn, withKey('rhc_spec', '/etc/passwd'), ERR(/rhc_spec/)],
    ['rhc_spec ""', gn, withKey('rhc_spec', ''), ERR(/rhc_spec/)],
    ['rhc_spec 5', gn, withKey('rhc_spec', 5), ERR(/rhc_spec/)],
    ['rhc_spec "__proto__"', gn, withKey('rhc_spec', '__proto__'), ERR(/rhc_spec|__proto__/)],
    ['rhc_spec of 5000 characters', gn, withKey('rhc_spec', 'a'.repeat(5000)), ERR(/rhc_spec|name is too long/)],
    ['rhc_spec "gp-norm" (a library name)', gn, withKey('rhc_spec', 'gp-norm'), EITHER()],
    ['not JSON', gn, () => '{"n_embd": 16,', ERR(/config\.json/)],
    ['empty', gn, () => '', ERR(/config\.json/)],
    ['a JSON array', gn, () => '[]', ERR(/config\.json/)],
    ['JSON null', gn, () => 'null', ERR(/config\.json/)],
    ['nested 100,000 deep', gn, () => '['.repeat(100_000) + ']'.repeat(100_000), ERR(/config\.json/)],
    ['a key given twice (n_layer 1, then 2)', gn, (c) => JSON.stringify(c).replace('{', '{"n_layer": 2, ').replace('"n_layer":1', '"n_layer":1,"n_layer":2'), ERR(/n_layer|h\.1/)],
    ['over 2 MB', gn, (c) => JSON.stringify(c) + ' '.repeat(2 * 2 ** 20), EITHER(/config\.json/)],
    ['a BOM', gn, (c) => '\ufeff' + JSON.stringify(c), EITHER(/config\.json/)],
    // Hugging Face reads these GPT-2 keys and computes other numbers with them
    ['scale_attn_weights false (HF: no 1/sqrt(D))', gn, withKey('scale_attn_weights', false), ERR(/scale_attn_weights/)],
    ['scale_attn_by_inverse_layer_idx true', gn, withKey('scale_attn_by_inverse_layer_idx', true), ERR(/scale_attn_by_inverse_layer_idx/)],
    ['n_inner 32 (weights are 4 * n_embd = 64 wide)', gn, withKey('n_inner', 32), ERR(/n_inner|c_fc/)],
    ['n_inner 64 (= 4 * n_embd)', gn, withKey('n_inner', 64), EITHER(/n_inner/)],
    ['tie_word_embeddings false', gn, withKey('tie_word_embeddings', false), ERR(/tie_word_embeddings|lm_head/)],
  ];
  return list.map(([name, v, m, e, t]) => configProbe(name, v, m, e, t));
}

/** A probe over the gp-norm checkpoint whose model.safetensors is `forge(tensors)`. */
function weightsProbe(name: string, forge: (ts: ForgedTensor[]) => Buffer, expect: Expect): Probe {
  return forwardProbe(
    `model.safetensors: ${name}`,
    (dir) => {
      forgeCheckpoint(path.join(dir, 'ck'), 'gp-norm');
      fs.writeFileSync(path.join(dir, 'ck/model.safetensors'), forge(forgeTensors('gp-norm')));
    },
    expect,
  );
}

const META = { metadata: { format: 'pt' } };
const whole = (ts: ForgedTensor[]) => forgeSafetensors(ts, META);
const ST = /model\.safetensors/;

function setValue(ts: ForgedTensor[], name: string, value: number): ForgedTensor[] {
  return ts.map((t) => {
    if (t.name !== name) return t;
    const f = new Float32Array(new Uint8Array(t.bytes).buffer);
    f[3] = value;
    return { ...t, bytes: new Uint8Array(f.buffer) };
  });
}

const rename = (ts: ForgedTensor[], from: string, to: string) => ts.map((t) => (t.name === from ? { ...t, name: to } : t));
const retag = (ts: ForgedTensor[], name: string, change: Partial<ForgedTensor>) => ts.map((t) => (t.name === name ? { ...t, ...change } : t));
const C_ATTN = 'transformer.h.0.attn.c_attn.weight';
const LN_F = 'transformer.ln_f.bias';

function weightsProbes(): Probe[] {
  const lenOf = (ts: ForgedTensor[]) => whole(ts).length;
  const offsetsOf = (ts: ForgedTensor[]) => {
    const m = new Map<string, [number, number]>();
    let o = 0;
    for (const t of ts) m.set(t.name, [o, (o += t.bytes.length)]);
    return m;
  };
  const list: [string, (ts: ForgedTensor[]) => Buffer, Expect][] = [
    ['the control (as forged)', whole, OK],
    ['truncated by 100 bytes', (ts) => whole(ts).subarray(0, lenOf(ts) - 100), ERR(ST)],
    ['5 bytes', (ts) => whole(ts).subarray(0, 5), ERR(ST)],
    ['empty', () => Buffer.alloc(0), ERR(ST)],
    ['16 bytes of trailing garbage', (ts) => forgeSafetensors(ts, { ...META, trailing: new Uint8Array(16).fill(7) }), ERR(ST)],
    ['a gap of unclaimed bytes between two tensors', (ts) => forgeSafetensors(ts, { ...META, gapAfter: 'transformer.wte.weight' }), ERR(ST)],
    ['two tensors overlapping', (ts) => {
      const off = offsetsOf(ts);
      const [a] = off.get(LN_F)!;
      off.set('transformer.ln_f.weight', [a, a + 64]);
      return forgeSafetensors(ts, { ...META, offsets: off });
    }, ERR(ST)],
    ['offsets past the end of the file', (ts) => {
      const off = offsetsOf(ts);
      const [a, b] = off.get(LN_F)!;
      off.set(LN_F, [a + 1000, b + 1000]);
      return forgeSafetensors(ts, { ...META, offsets: off });
    }, ERR(ST)],
    ['offsets reversed', (ts) => {
      const off = offsetsOf(ts);
      const [a, b] = off.get(LN_F)!;
      off.set(LN_F, [b, a]);
      return forgeSafetensors(ts, { ...META, offsets: off });
    }, ERR(ST)],
    ['a NaN in a weight', (ts) => whole(setValue(ts, C_ATTN, NaN)), { exit: [0, 1], stderr: /c_attn/, output: oracle }],
    ['an Inf in a weight', (ts) => whole(setValue(ts, 'transformer.wte.weight', Infinity)), { exit: [0, 1], stderr: /wte/, output: oracle }],
    ['float data tagged I32', (ts) => whole(retag(ts, C_ATTN, { dtype: 'I32' })), ERR(/c_attn|I32/)],
    ['float data tagged F16 (twice the bytes)', (ts) => whole(retag(ts, C_ATTN, { dtype: 'F16' })), ERR(/c_attn|F16|bytes/)],
    ['an unknown dtype', (ts) => whole(retag(ts, C_ATTN, { dtype: 'F8_E9M9' })), ERR(/F8_E9M9|dtype/)],
    ['header length 2^40', (ts) => forgeSafetensors(ts, { ...META, headerLength: 2n ** 40n }), ERR(ST)],
    ['header length 2^64 - 1', (ts) => forgeSafetensors(ts, { ...META, headerLength: 2n ** 64n - 1n }), ERR(ST)],
    ['header length one past the end', (ts) => forgeSafetensors(ts, { ...META, headerLength: BigInt(lenOf(ts) - 8 + 1) }), ERR(ST)],
    ['a header that is not JSON', (ts) => forgeSafetensors(ts, { headerText: '{"a": [1, 2' }), ERR(ST)],
    ['a header that is a JSON array', (ts) => forgeSafetensors(ts, { headerText: '[1, 2, 3]' }), ERR(ST)],
    ['a header of invalid UTF-8', (ts) => {
      const b = whole(ts);
      b[10] = 0xff;
      return b;
    }, ERR(ST)],
    ['a tensor named __proto__', (ts) => whole(rename(ts, LN_F, '__proto__')), ERR(/__proto__|ln_f/)],
    ['a tensor named constructor', (ts) => whole(rename(ts, LN_F, 'constructor')), ERR(/constructor|ln_f/)],
    ['c_attn stored transposed [48, 16]', (ts) => whole(retag(ts, C_ATTN, { shape: [48, 16] })), ERR(/c_attn/)],
    ['a negative dim', (ts) => whole(retag(ts, LN_F, { shape: [-16] })), ERR(ST)],
    ['a shape of 1e20 elements', (ts) => whole(retag(ts, LN_F, { shape: [1e10, 1e10] })), ERR(ST)],
    ['shape and byte count disagree', (ts) => whole(retag(ts, LN_F, { shape: [15] })), ERR(ST)],
    ['__metadata__ 5', (ts) => forgeSafetensors(ts, { metadata: 5 }), EITHER(ST)],
    ['lm_head.weight differing from wte', (ts) => whole([...ts, { ...ts[0], name: 'lm_head.weight', bytes: new Uint8Array(ts[0].bytes.length).fill(1) }]), ERR(/lm_head/)],
    ['lm_head.weight equal to wte', (ts) => whole([...ts, { ...ts[0], name: 'lm_head.weight' }]), EITHER()],
    ['a tensor missing', (ts) => whole(ts.filter((t) => t.name !== LN_F)), ERR(/ln_f/)],
    ['an extra tensor', (ts) => whole([...ts, { name: 'transformer.h.7.mlp.c_fc.bias', shape: [4], bytes: new Uint8Array(16) }]), ERR(/h\.7|n_layer/)],
  ];
  return list.map(([name, forge, expect]) => weightsProbe(name, forge, expect));
}

/** Files of a checkpoint that are not regular, or lead outside it. */
function fileProbes(): Probe[] {
  const mkfifo = (f: string) => execFileSync('mkfifo', [f]);
  const ck = (dir: string) => path.join(dir, 'ck');
  const special = (name: string, make: (dir: string) => void, what: RegExp): Probe =>
    forwardProbe(name, (dir) => {
      forgeCheckpoint(ck(dir), 'gp-norm');
      make(dir);
    }, ERR(what), 10_000);
  const replace = (dir: string, file: string, make: (p: string) => void) => {
    fs.rmSync(path.join(ck(dir), file));
    make(path.join(ck(dir), file));
  };
  const rhcSpec = (dir: string, value: string) => {
    const c = JSON.parse(fs.readFileSync(path.join(ck(dir), 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(ck(dir), 'config.json'), JSON.stringify({ ...c, rhc_spec: value }));
  };
  /** A valid spec for these weights, outside the checkpoint: following rhc_spec there would load. */
  const outside = (dir: string) => {
    writeTinySpecs(path.join(dir, 'outside'));
    return path.join(dir, 'outside', 'gp-norm.rh');
  };
  return [
    special('config.json is a symlink to /dev/zero', (d) => replace(d, 'config.json', (p) => fs.symlinkSync('/dev/zero', p)), /config\.json/),
    special('config.json is a FIFO', (d) => replace(d, 'config.json', mkfifo), /config\.json/),
    special('config.json is a directory', (d) => replace(d, 'config.json', (p) => fs.mkdirSync(p)), /config\.json/),
    special('model.safetensors is a symlink to /dev/zero', (d) => replace(d, 'model.safetensors', (p) => fs.symlinkSync('/dev/zero', p)), ST),
    special('model.safetensors is a FIFO', (d) => replace(d, 'model.safetensors', mkfifo), ST),
    special('model.safetensors is a directory', (d) => replace(d, 'model.safetensors', (p) => fs.mkdirSync(p)), ST),
    special('model.safetensors is a symlink loop', (d) => replace(d, 'model.safetensors', (p) => fs.symlinkSync('model.safetensors', p)), ST),
    special('rhc_spec names a symlink to /dev/zero', (d) => {
      fs.symlinkSync('/dev/zero', path.join(ck(d), 'z.rh'));
      rhcSpec(d, 'z.rh');
    }, /z\.rh|rhc_spec/),
    special('rhc_spec names a FIFO', (d) => {
      mkfifo(path.join(ck(d), 'f.rh'));
      rhcSpec(d, 'f.rh');
    }, /f\.rh|rhc_spec/),
    special('rhc_spec is an absolute path to a valid spec outside the checkpoint', (d) => rhcSpec(d, outside(d)), /rhc_spec/),
    special('rhc_spec is ../outside/gp-norm.rh', (d) => {
      outside(d);
      rhcSpec(d, '../outside/gp-norm.rh');
    }, /rhc_spec/),
    special('the shard index names ../x.safetensors', (d) => {
      fs.renameSync(path.join(ck(d), 'model.safetensors'), path.join(d, 'x.safetensors'));
      const map = Object.fromEntries(forgeTensors('gp-norm').map((t) => [t.name, '../x.safetensors']));
      fs.writeFileSync(path.join(ck(d), 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    }, /index|weight_map|x\.safetensors/),
    special('the shard index is /dev/zero', (d) => {
      fs.rmSync(path.join(ck(d), 'model.safetensors'));
      fs.symlinkSync('/dev/zero', path.join(ck(d), 'model.safetensors.index.json'));
    }, /index/),
  ];
}

/**
 * compile --weights over hostile checkpoints (with rhc's own gp-norm spec, which their config
 * selects): nothing may be built for a config rhc cannot honour. What onnx builds is run by
 * onnxruntime against the oracle; a webgpu artifact needs a GPU to run, so exit 0 is checked
 * only where the config is valid.
 */
function compileProbes(): Probe[] {
  const cases: [string, (c: Config) => Config, boolean][] = [
    ['n_layer 1000000', withKey('n_layer', 1_000_000), false],
    ['n_layer missing', without('n_layer'), false],
    ['n_head -4', withKey('n_head', -4), false],
    ['n_layer 2 over one layer', withKey('n_layer', 2), false],
    ['rhc_spec "/etc/passwd"', withKey('rhc_spec', '/etc/passwd'), false],
    ['activation_function "bogus"', withKey('activation_function', 'bogus'), false],
    ['activation_function relu', withKey('activation_function', 'relu'), true],
    ['the control (as forged)', (c) => c, true],
  ];
  const probes: Probe[] = [];
  for (const target of ['webgpu', 'onnx'] as const) {
    for (const [name, mutate, valid] of cases) {
      const out = target === 'onnx' ? 'm.onnx' : 'art';
      const output = target === 'onnx' ? (dir: string, r: { stderr: string }) => onnxAsOracle(path.join(dir, 'ck'), path.join(dir, out), r.stderr) : undefined;
      probes.push({
        family: 'checkpoint',
        name: `compile --target ${target} --weights: ${name}`,
        setup: (dir) => forgeCheckpoint(path.join(dir, 'ck'), 'gp-norm', { config: mutate }),
        args: (dir) => ['compile', path.join(ROOT, 'spec/gp-norm.rh'), '--target', target, '--weights', path.join(dir, 'ck'), '-o', path.join(dir, out)],
        expect: valid ? { exit: [0], output } : { exit: [1], stderr: /config\.json|n_layer|n_head|rhc_spec|activation_function/ },
        writes: [out, new RegExp(`^\\.${out.replace('.', '\\.')}\\.`)],
        timeoutMs: 30_000,
      });
    }
  }
  return probes;
}

export function checkpointProbes(): Probe[] {
  const controls = SEED_VARIANTS.map((v) => forwardProbe(`control: a clean ${v} checkpoint`, (dir) => forgeCheckpoint(path.join(dir, 'ck'), v), OK));
  return [...controls, ...configProbes(), ...weightsProbes(), ...fileProbes(), ...compileProbes()];
}
