import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWeights, readHfConfig, saveCheckpoint } from '../../src/io/checkpoint.ts';
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
  });
});
