import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { checkDimsAgainstWeights, loadWeights, readHfConfig } from '../../src/io/checkpoint.ts';
import { checkReplaceableCheckpoint, saveCheckpoint } from '../../src/io/checkpoint-write.ts';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import { rhcErrorOf } from '../helpers/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;


function newDir(): string {
  const d = path.join(tmp, `c${counter++}`);
  fs.mkdirSync(d);
  return d;
}

function dirWithConfig(config: unknown, text?: string): string {
  const d = newDir();
  fs.writeFileSync(path.join(d, 'config.json'), text ?? JSON.stringify(config));
  return d;
}

const baseConfig = { n_embd: 8, n_layer: 1, n_head: 2, vocab_size: 5, n_positions: 4, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };

describe('readHfConfig', () => {
  it('parses a rotating-head config', () => {
    const cfg = readHfConfig(dirWithConfig({ ...baseConfig, model_type: 'rotating-head-gpt2', rotatinghead: 'gp', use_norm: true, base_frequency: 500, extra: [1] }));
    expect(cfg).toMatchObject({ n_embd: 8, n_layer: 1, n_head: 2, vocab_size: 5, n_positions: 4, layer_norm_epsilon: 1e-5 });
    expect(cfg.rotatinghead).toBe('gp');
    expect(cfg.use_norm).toBe(true);
    expect(cfg.base_frequency).toBe(500);
    expect(cfg.model_type).toBe('rotating-head-gpt2');
    expect(cfg.activation_function).toBe('gelu_new');
    expect(cfg.raw.extra).toEqual([1]);
  });

  it('reads an official GPT-2 config (no rotatinghead, n_ctx) with GPT2Config defaults', () => {
    const cfg = readHfConfig(dirWithConfig({ n_embd: 768, n_layer: 12, n_head: 12, vocab_size: 50257, n_ctx: 1024, model_type: 'gpt2' }));
    expect(cfg.rotatinghead).toBeNull();
    expect(cfg.use_norm).toBe(false);
    expect(cfg.n_positions).toBe(1024);
    expect(cfg.layer_norm_epsilon).toBe(1e-5);
    expect(cfg.base_frequency).toBeUndefined();
    expect(readHfConfig(dirWithConfig({ ...baseConfig, rotatinghead: null })).rotatinghead).toBeNull();
  });

  it('gives clear errors for missing, unparsable or ill-typed configs', () => {
    const noDir = path.join(tmp, 'does-not-exist');
    expect(rhcErrorOf(() => readHfConfig(noDir)).message).toContain(`'${noDir}' does not exist`);
    const empty = newDir();
    expect(rhcErrorOf(() => readHfConfig(empty)).message).toContain(`${path.join(empty, 'config.json')}: missing`);
    const cases: [unknown, string | undefined, string][] = [
      [null, '{"n_embd": 8,', 'not valid JSON'],
      [[1, 2], undefined, 'must be a JSON object, got an array'],
      [{ ...baseConfig, n_embd: undefined }, undefined, 'required key "n_embd" is missing'],
      [{ ...baseConfig, n_layer: '12' }, undefined, '"n_layer" must be a positive integer, got "12"'],
      [{ ...baseConfig, n_head: 2.5 }, undefined, '"n_head" must be a positive integer, got 2.5'],
      [{ ...baseConfig, vocab_size: 0 }, undefined, '"vocab_size" must be a positive integer, got 0'],
      [{ ...baseConfig, layer_norm_epsilon: 'small' }, undefined, '"layer_norm_epsilon" must be a positive number'],
      [{ ...baseConfig, use_norm: 'yes' }, undefined, '"use_norm" must be true or false, got "yes"'],
      [{ ...baseConfig, base_frequency: -1 }, undefined, '"base_frequency" must be a positive number, got -1'],
      [{ ...baseConfig, activation_function: 3 }, undefined, '"activation_function" must be a string'],
      [{ ...baseConfig, rotatinghead: 'xpos' }, undefined, 'unknown rotatinghead "xpos"'],
      [{ ...baseConfig, rotatinghead: 1 }, undefined, 'unknown rotatinghead 1'],
      [{ ...baseConfig, n_head: 3 }, undefined, 'n_embd 8 is not divisible by n_head 3'],
      [{ ...baseConfig, n_embd: 6, rotatinghead: 'lr' }, undefined, 'head size n_embd/n_head = 3 must be even'],
    ];
    for (const [cfg, text, msg] of cases) {
      const d = dirWithConfig(cfg, text);
      const err = rhcErrorOf(() => readHfConfig(d)).message;
      expect(err).toContain(path.join(d, 'config.json'));
      expect(err).toContain(msg);
    }
  });
});


describe('reading a checkpoint is bounded, and of regular files only', () => {
  it('config.json as a FIFO, a link to /dev/zero, or a huge file fails at once with the file named', () => {
    const fifo = newDir();
    execFileSync('mkfifo', [path.join(fifo, 'config.json')]);
    const zero = newDir();
    fs.symlinkSync('/dev/zero', path.join(zero, 'config.json'));
    const huge = dirWithConfig(null, JSON.stringify({ ...baseConfig, pad: 'x'.repeat(2 ** 20) }));
    const t0 = Date.now();
    expect(rhcErrorOf(() => readHfConfig(fifo)).message).toBe(`cannot read config.json ${path.join(fifo, 'config.json')}: it is a FIFO, not a regular file`);
    expect(rhcErrorOf(() => readHfConfig(zero)).message).toBe(`cannot read config.json ${path.join(zero, 'config.json')}: it is a device, not a regular file`);
    expect(rhcErrorOf(() => readHfConfig(huge)).message).toMatch(/config\.json: it is 1\.0 MiB, more than the 1\.0 MiB a config\.json may be/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a shard index that is a FIFO, and a model.safetensors that is a FIFO, fail at once', () => {
    const d = dirWithConfig(baseConfig);
    execFileSync('mkfifo', [path.join(d, 'model.safetensors.index.json')]);
    const t0 = Date.now();
    expect(rhcErrorOf(() => loadWeights(d, [])).message).toContain('model.safetensors.index.json: it is a FIFO, not a regular file');
    const e = dirWithConfig(baseConfig);
    execFileSync('mkfifo', [path.join(e, 'model.safetensors')]);
    expect(rhcErrorOf(() => loadWeights(e, [])).message).toContain('model.safetensors: it is a FIFO, not a regular file');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('loadWeights', () => {
  const expected = [
    { name: 'transformer.wte.weight', shape: [5, 2] },
    { name: 'transformer.h.0.attn.c_attn.weight', shape: [2, 6] },
    { name: 'transformer.h.0.attn.c_attn.bias', shape: [6] },
  ];
  const values = (n: number, start: number) => Float32Array.from({ length: n }, (_, i) => start + i);
  const hfTensors = () => [
    { name: 'transformer.wte.weight', shape: [5, 2], data: values(10, 0) },
    { name: 'transformer.h.0.attn.c_attn.weight', shape: [2, 6], data: values(12, 100) },
    { name: 'transformer.h.0.attn.c_attn.bias', shape: [6], data: values(6, 200) },
  ];
  function weightsDir(tensors: { name: string; shape: number[]; data: Float32Array }[]): string {
    const d = newDir();
    writeSafetensors(path.join(d, 'model.safetensors'), tensors, { format: 'pt' });
    return d;
  }

  it('loads HF-named tensors', () => {
    const w = loadWeights(weightsDir(hfTensors()), expected);
    expect([...w.keys()]).toEqual(expected.map((e) => e.name));
    expect(w.get('transformer.h.0.attn.c_attn.weight')).toEqual(values(12, 100));
    expect(w.get('transformer.wte.weight')).toEqual(values(10, 0));
  });

  it('accepts OpenAI names without "transformer.", skipping mask buffers and a tied lm_head', () => {
    const tensors = hfTensors().map((t) => ({ ...t, name: t.name.replace(/^transformer\./, '') }));
    tensors.push({ name: 'h.0.attn.bias', shape: [1, 1, 4, 4], data: new Float32Array(16) });
    tensors.push({ name: 'h.0.attn.masked_bias', shape: [], data: Float32Array.from([-1e4]) });
    tensors.push({ name: 'lm_head.weight', shape: [5, 2], data: values(10, 0) });
    const w = loadWeights(weightsDir(tensors), expected);
    expect([...w.keys()].sort()).toEqual(expected.map((e) => e.name).sort());
    expect(w.get('transformer.h.0.attn.c_attn.bias')).toEqual(values(6, 200));
  });

  it('converts F16 tensors to float32', () => {
    const d = newDir();
    const header = JSON.stringify({ 'transformer.h.0.attn.c_attn.bias': { dtype: 'F16', shape: [2], data_offsets: [0, 4] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    // F16 0x3C00 = 1, 0xC000 = -2
    fs.writeFileSync(path.join(d, 'model.safetensors'), Buffer.concat([len, Buffer.from(header), Buffer.from([0x00, 0x3c, 0x00, 0xc0])]));
    const w = loadWeights(d, [{ name: 'transformer.h.0.attn.c_attn.bias', shape: [2] }]);
    expect(Array.from(w.get('transformer.h.0.attn.c_attn.bias')!)).toEqual([1, -2]);
  });

  it('names a missing tensor with its expected shape', () => {
    const d = weightsDir(hfTensors().filter((t) => !t.name.endsWith('c_attn.bias')));
    const msg = rhcErrorOf(() => loadWeights(d, expected)).message;
    expect(msg).toContain("missing 1 tensor(s) the model needs: 'transformer.h.0.attn.c_attn.bias' [6]");
  });

  it('names a tensor whose shape does not match, with both shapes', () => {
    const tensors = hfTensors();
    tensors[1] = { ...tensors[1], shape: [6, 2] };
    const msg = rhcErrorOf(() => loadWeights(weightsDir(tensors), expected)).message;
    expect(msg).toContain("tensor 'transformer.h.0.attn.c_attn.weight' has shape [6, 2], expected [2, 6]");
    expect(msg).toContain('model.safetensors');
  });

  it('lists unexpected tensors that are not known buffers', () => {
    const tensors = hfTensors();
    tensors.push({ name: 'transformer.h.0.attn.rope.frequencies', shape: [1, 1], data: new Float32Array(1) });
    tensors.push({ name: 'transformer.h.0.attn.bias', shape: [1], data: new Float32Array(1) }); // buffer: ignored
    const msg = rhcErrorOf(() => loadWeights(weightsDir(tensors), expected)).message;
    expect(msg).toContain("1 tensor(s) this model does not use (wrong spec or config?): 'transformer.h.0.attn.rope.frequencies'");
  });

  it('refuses an untied lm_head and a tensor stored under both names', () => {
    const untied = [...hfTensors(), { name: 'lm_head.weight', shape: [5, 2], data: values(10, 1) }];
    expect(rhcErrorOf(() => loadWeights(weightsDir(untied), expected)).message).toContain('lm_head.weight [5, 2] differs from transformer.wte.weight');
    const twice = [...hfTensors(), { name: 'wte.weight', shape: [5, 2], data: values(10, 0) }];
    expect(rhcErrorOf(() => loadWeights(weightsDir(twice), expected)).message).toContain("tensor 'transformer.wte.weight' is stored twice");
  });

  it('explains a missing weights file', () => {
    const d = newDir();
    expect(rhcErrorOf(() => loadWeights(d, expected)).message).toContain('has no model.safetensors');
    fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'x');
    expect(rhcErrorOf(() => loadWeights(d, expected)).message).toContain('safe_serialization=True');
  });

  it('refuses float parameters stored as I32 or I64, naming the tensor and the dtype', () => {
    for (const [dtype, size] of [['I32', 4], ['I64', 8]] as const) {
      const d = newDir();
      const header = JSON.stringify({ 'transformer.h.0.attn.c_attn.bias': { dtype, shape: [2], data_offsets: [0, 2 * size] } });
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      fs.writeFileSync(path.join(d, 'model.safetensors'), Buffer.concat([len, Buffer.from(header), Buffer.alloc(2 * size)]));
      const msg = rhcErrorOf(() => loadWeights(d, [{ name: 'transformer.h.0.attn.c_attn.bias', shape: [2] }])).message;
      expect(msg).toBe(`${path.join(d, 'model.safetensors')}: tensor 'transformer.h.0.attn.c_attn.bias' is stored as ${dtype}, an integer dtype; a weight must be F32, F16, BF16 or F64`);
    }
  });

  it('warns once per tensor holding NaN or Inf, with the count, and still loads', () => {
    const tensors = hfTensors();
    tensors[0].data[3] = NaN;
    tensors[0].data[7] = -Infinity;
    tensors[2].data[0] = Infinity;
    tensors.push({ name: 'lm_head.weight', shape: [5, 2], data: Float32Array.from(tensors[0].data) }); // tied, NaN included
    const warnings: string[] = [];
    const w = loadWeights(weightsDir(tensors), expected, { warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/model\.safetensors: tensor 'transformer\.wte\.weight' has 2 non-finite value\(s\) \(NaN or Inf\) among 10/);
    expect(warnings[1]).toMatch(/tensor 'transformer\.h\.0\.attn\.c_attn\.bias' has 1 non-finite value\(s\) \(NaN or Inf\) among 6/);
    expect(Number.isNaN(w.get('transformer.wte.weight')![3])).toBe(true);
    expect(loadWeights(weightsDir(hfTensors()), expected, { warn: (m) => warnings.push(m) }).size).toBe(3);
    expect(warnings).toHaveLength(2);
  });

  it('checks the dims a config asks for against the file headers before anything is built', () => {
    const t = (name: string, shape: number[]) => ({ name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const d = weightsDir([t('transformer.wte.weight', [5, 8]), t('transformer.wpe.weight', [4, 8]), t('transformer.h.0.ln_1.weight', [8]), t('transformer.h.1.ln_1.weight', [8])]);
    const says = (value: number) => ({ value, from: 'ck/config.json says' });
    checkDimsAgainstWeights(d, { n_layer: says(2), vocab_size: says(5), n_embd: says(8), n_positions: says(4) });
    const t0 = Date.now();
    expect(rhcErrorOf(() => checkDimsAgainstWeights(d, { n_layer: says(1000000) })).message).toBe(
      `ck/config.json says n_layer=1000000, but the checkpoint '${d}' has layers 0..1 (h.0 to h.1); the config does not describe these weights`,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(rhcErrorOf(() => checkDimsAgainstWeights(d, { vocab_size: { value: 50257, from: '--set gives' } })).message).toBe(
      `--set gives vocab_size=50257, but ${path.join(d, 'model.safetensors')} has transformer.wte.weight [5, 8] (vocab_size 5); the config does not describe these weights`,
    );
    expect(rhcErrorOf(() => checkDimsAgainstWeights(d, { n_embd: says(16) })).message).toContain('has transformer.wte.weight [5, 8] (n_embd 8)');
    expect(rhcErrorOf(() => checkDimsAgainstWeights(d, { n_positions: says(1024) })).message).toContain('has transformer.wpe.weight [4, 8] (n_positions 4)');
    // no wpe (a rope model) and OpenAI names: only what is there is checked
    const rope = weightsDir([t('wte.weight', [5, 8]), t('h.0.ln_1.weight', [8])]);
    checkDimsAgainstWeights(rope, { n_layer: says(1), n_positions: says(99999) });
    expect(rhcErrorOf(() => checkDimsAgainstWeights(rope, { n_layer: says(3) })).message).toContain('has layers 0..0');
  });

  it('reads sharded checkpoints through model.safetensors.index.json', () => {
    const d = newDir();
    const [a, b, c] = hfTensors();
    writeSafetensors(path.join(d, 'model-00001-of-00002.safetensors'), [a, b]);
    writeSafetensors(path.join(d, 'model-00002-of-00002.safetensors'), [c]);
    const weight_map = { [a.name]: 'model-00001-of-00002.safetensors', [b.name]: 'model-00001-of-00002.safetensors', [c.name]: 'model-00002-of-00002.safetensors' };
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map }));
    const w = loadWeights(d, expected);
    expect(w.get(c.name)).toEqual(c.data);
  });
});

describe('saveCheckpoint', () => {
  it('writes config.json and an F32 model.safetensors that load back', () => {
    const d = path.join(tmp, 'saved', 'nested');
    const config = { ...baseConfig, model_type: 'rotating-head-gpt2', rotatinghead: 'lr', use_norm: false };
    const tensors = [
      { name: 'transformer.wpe.weight', shape: [4, 8], data: Float32Array.from({ length: 32 }, (_, i) => i / 7) },
      { name: 'transformer.h.0.attn.rope.frequencies', shape: [2, 2], data: Float32Array.from([1, -1, 0.5, 2]) },
    ];
    saveCheckpoint(d, config, tensors);
    expect(JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'))).toEqual(config);
    const cfg = readHfConfig(d);
    expect([cfg.rotatinghead, cfg.use_norm]).toEqual(['lr', false]);
    const st = readSafetensors(path.join(d, 'model.safetensors'));
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.names().every((n) => st.get(n).dtype === 'F32')).toBe(true);
    const w = loadWeights(d, tensors);
    for (const t of tensors) expect(w.get(t.name)).toEqual(t.data);
    // replacing it leaves the new checkpoint alone, with nothing left beside it
    saveCheckpoint(d, { ...config, n_layer: 2 }, tensors.slice(0, 1));
    expect(readHfConfig(d).n_layer).toBe(2);
    expect(readSafetensors(path.join(d, 'model.safetensors')).names()).toEqual(['transformer.wpe.weight']);
    expect(fs.readdirSync(path.dirname(d))).toEqual(['nested']);
    expect(fs.readdirSync(d).sort()).toEqual(['config.json', 'model.safetensors']);
  });
});

describe('checkReplaceableCheckpoint', () => {
  const rhcConfig = JSON.stringify({ ...baseConfig, model_type: 'rotating-head-gpt2' });

  it('allows an absent or empty directory, or a checkpoint rhc wrote (config, weights, .rh files)', () => {
    checkReplaceableCheckpoint(path.join(tmp, 'absent'));
    checkReplaceableCheckpoint(newDir());
    const d = dirWithConfig(null, rhcConfig);
    fs.writeFileSync(path.join(d, 'model.safetensors'), '');
    fs.writeFileSync(path.join(d, 'mine.rh'), '');
    fs.mkdirSync(path.join(d, 'lib'));
    fs.writeFileSync(path.join(d, 'lib', 'helper.rh'), '');
    // leftovers of a killed rhc writer are rhc's too
    fs.writeFileSync(path.join(d, '.model.safetensors.4242.tmp'), '');
    fs.writeFileSync(path.join(d, '.config.json.rhc-tmp-4242-0a1b2c3d'), '');
    checkReplaceableCheckpoint(d);
  });

  it('refuses a non-empty directory that is not an rhc checkpoint, or one holding other files, mentioning --force', () => {
    const plain = newDir();
    fs.writeFileSync(path.join(plain, 'notes.txt'), 'mine');
    expect(rhcErrorOf(() => checkReplaceableCheckpoint(plain)).message).toBe(
      `--out ${plain} is not empty and is not a checkpoint rhc wrote (no config.json with model_type "rotating-head-gpt2"); writing the checkpoint would delete it: choose a new or empty directory, or pass --force to replace it`,
    );
    const hf = dirWithConfig({ ...baseConfig, model_type: 'gpt2' });
    expect(rhcErrorOf(() => checkReplaceableCheckpoint(hf)).message).toContain('is not a checkpoint rhc wrote');
    const mixed = dirWithConfig(null, rhcConfig);
    fs.writeFileSync(path.join(mixed, 'logits.npy'), '');
    fs.mkdirSync(path.join(mixed, 'sub'));
    fs.writeFileSync(path.join(mixed, 'sub', 'data.bin'), '');
    expect(rhcErrorOf(() => checkReplaceableCheckpoint(mixed)).message).toMatch(/holds files that are not part of a checkpoint \((logits\.npy, sub\/data\.bin|sub\/data\.bin, logits\.npy)\).*--force/);
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    expect(rhcErrorOf(() => checkReplaceableCheckpoint(file)).message).toContain(`--out ${file} is a file, not a directory`);
  });
});
