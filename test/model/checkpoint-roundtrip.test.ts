// Checkpoints as the model layer writes and reads them: save -> load is exact for every
// variant, the file on disk is the layout SEMANTICS.md fixes (parsed here by hand), F16/BF16
// tensors load as their rounded values (rounded here by arithmetic, not by rhc's converter),
// OpenAI-style names load, and a spec that contradicts config.json is a clean CLI error.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigOverride } from '../../src/dsl/config.ts';
import { readNpy } from '../../src/io/npy.ts';
import { initModel, loadModel, saveModel, type Model } from '../../src/model/model.ts';
import { cpuBackend } from '../../src/runtime/backends.ts';
import { gpt2ForwardF64, relMaxDiff, type VariantF64 } from '../helpers/gpt2-f64.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirCounter = 0;
const newDir = (tag: string) => path.join(tmp, `${tag}-${dirCounter++}`);

const set = (name: string, value: number): ConfigOverride => ({ name, value: String(value), origin: '--set', strict: true });
const DIMS = { n_embd: 16, n_head: 2, n_layer: 2, n_positions: 12, vocab_size: 40 };
const OVERRIDES = Object.entries(DIMS).map(([k, v]) => set(k, v));
const IDS = [1, 39, 7, 7, 0, 22];

function smallModel(variant: VariantF64, seed = 4): Model {
  return initModel(path.join(ROOT, `spec/${variant}.rh`), { seed, overrides: OVERRIDES });
}

async function logitsOf(m: Model, ids = IDS): Promise<Float32Array> {
  return cpuBackend('f32').forward({ graph: m.graph, weights: m.weights, ids: Int32Array.from(ids), batch: 1, seq: ids.length });
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function expectSameWeights(got: ReadonlyMap<string, Float32Array>, want: ReadonlyMap<string, Float32Array>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, w] of want) expect(bits(got.get(name)!), name).toEqual(bits(w));
}

// ---------------------------------------------------------------- safetensors by hand

type HandDtype = 'F32' | 'F16' | 'BF16';
interface HandTensor {
  name: string;
  dtype: HandDtype;
  shape: number[];
  bytes: Uint8Array;
}

/** u64 LE header length, JSON header (space-padded to 8 bytes), then the data, in order. */
function writeSafetensorsByHand(file: string, tensors: HandTensor[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  fs.writeFileSync(file, out);
}

/** Parses a safetensors file by hand: header and raw bytes of each tensor. */
function parseSafetensorsByHand(file: string): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; metadata?: Record<string, string>; data: (name: string) => Uint8Array } {
  const buf = new Uint8Array(fs.readFileSync(file));
  const n = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));
  const parsed = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
  const { __metadata__: metadata, ...header } = parsed;
  return {
    header,
    metadata,
    data: (name) => {
      const [b, e] = header[name].data_offsets;
      return buf.slice(8 + n + b, 8 + n + e);
    },
  };
}

function f32Bytes(a: Float32Array): Uint8Array {
  const c = Float32Array.from(a);
  return new Uint8Array(c.buffer);
}

function u16Bytes(a: Uint16Array): Uint8Array {
  const out = new Uint8Array(a.length * 2);
  const dv = new DataView(out.buffer);
  a.forEach((v, i) => dv.setUint16(2 * i, v, true));
  return out;
}

/** Round-half-to-even of x to a float with `mantBits` explicit mantissa bits and min normal exponent `minExp`. */
function roundToFloat(x: number, mantBits: number, minExp: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, minExp) - mantBits);
  const q = a / ulp; // exact: ulp is a power of two
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return Math.sign(x) * r * ulp;
}

const roundToF16 = (x: number) => roundToFloat(x, 10, -14);
const roundToBF16 = (x: number) => roundToFloat(x, 7, -126);

/** IEEE half bits of a value already representable in f16. */
function f16Bits(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  if (a < 2 ** -14) return sign | (a / 2 ** -24); // subnormal
  const e = Math.floor(Math.log2(a));
  const mant = (a / 2 ** e - 1) * 1024;
  if (!Number.isInteger(mant)) throw new Error(`${v} is not an f16 value`);
  return sign | ((e + 15) << 10) | mant;
}

/** bfloat16 bits of a value already representable in bf16: the top half of its f32 bits. */
function bf16Bits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  if ((u & 0xffff) !== 0) throw new Error(`${v} is not a bf16 value`);
  return u >>> 16;
}

function copyConfig(from: string, to: string, edit?: (c: Record<string, unknown>) => void): void {
  fs.mkdirSync(to, { recursive: true });
  const c = JSON.parse(fs.readFileSync(path.join(from, 'config.json'), 'utf8'));
  edit?.(c);
  fs.writeFileSync(path.join(to, 'config.json'), JSON.stringify(c));
}

// ---------------------------------------------------------------- tests

describe('initModel -> saveModel -> loadModel', () => {
  const VARIANTS: VariantF64[] = ['gpt2-abs', 'rope', 'lr', 'lr-norm', 'gp', 'gp-norm'];
  for (const v of VARIANTS) {
    it(`${v}: identical weights, config and logits`, async () => {
      const m = smallModel(v);
      const dir = newDir(v);
      saveModel(m, dir);
      const back = loadModel(dir);
      expect(back.specFile).toBe(path.join(ROOT, 'spec', `${v}.rh`));
      expect(back.graph.config).toEqual(m.graph.config);
      expectSameWeights(back.weights, m.weights);
      expect(bits(await logitsOf(back))).toEqual(bits(await logitsOf(m)));
    });
  }

  it('the file on disk is F32 safetensors with GPT-2 names, pt metadata and the exact values', () => {
    const m = smallModel('lr-norm');
    const dir = newDir('disk');
    saveModel(m, dir);
    const st = parseSafetensorsByHand(path.join(dir, 'model.safetensors'));
    expect(st.metadata).toEqual({ format: 'pt' });
    const names = Object.keys(st.header).sort();
    expect(names).toEqual([...m.weights.keys()].sort());
    expect(names).toContain('transformer.h.1.attn.rope.frequencies');
    expect(names).toContain('transformer.h.0.attn.rope.layer_norm.bias');
    expect(st.header['transformer.h.0.attn.c_attn.weight']).toMatchObject({ dtype: 'F32', shape: [16, 48] });
    expect(st.header['transformer.h.0.attn.rope.frequencies']).toMatchObject({ dtype: 'F32', shape: [2, 4] });
    expect(st.header['transformer.wpe.weight'].shape).toEqual([12, 16]);
    for (const [name, w] of m.weights) {
      expect(st.header[name].dtype).toBe('F32');
      expect(st.data(name), name).toEqual(f32Bytes(w));
    }
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ ...DIMS, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', model_type: 'rotating-head-gpt2', rotatinghead: 'lr', use_norm: true });
  });
});

describe('half-precision checkpoints', () => {
  it('the rounding helpers are right on hand-worked values', () => {
    expect(roundToF16(1 + 2 ** -11)).toBe(1); // tie -> even
    expect(roundToF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie -> even (up)
    expect(roundToF16(0.1)).toBe(0.0999755859375);
    expect(f16Bits(0.0999755859375)).toBe(0x2e66);
    expect(f16Bits(-2)).toBe(0xc000);
    expect(roundToF16(2 ** -24 * 1.4)).toBe(2 ** -24); // subnormal
    expect(f16Bits(2 ** -24 * 3)).toBe(3);
    expect(roundToBF16(1 + 2 ** -8)).toBe(1);
    expect(bf16Bits(roundToBF16(0.1))).toBe(0x3dcd);
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`${dtype} tensors load as their rounded values, and the model runs on them`, async () => {
      const m = smallModel('gp-norm');
      for (const [name, w] of m.weights) if (/layer_norm\.(weight|bias)$/.test(name)) w.forEach((_, i) => (w[i] = 1 + 0.37 * Math.sin(i + 1)));
      const src = newDir('src');
      saveModel(m, src);
      const dir = newDir(dtype.toLowerCase());
      copyConfig(src, dir);
      const round = dtype === 'F16' ? roundToF16 : roundToBF16;
      const encode = dtype === 'F16' ? f16Bits : bf16Bits;
      const expected = new Map<string, Float32Array>();
      const tensors: HandTensor[] = [];
      let subnormals = 0;
      for (const { name, shape } of m.graph.nodes.filter((n) => n.op === 'param').map((n) => ({ name: n.attrs.name as string, shape: n.type.shape as number[] }))) {
        const w = m.weights.get(name)!;
        const r = Float32Array.from(w, round);
        for (const x of r) if (x !== 0 && Math.abs(x) < 2 ** -14) subnormals++;
        expected.set(name, r);
        // one tensor stays F32: a mixed file must load too
        if (name === 'transformer.ln_f.bias') tensors.push({ name, dtype: 'F32', shape, bytes: f32Bytes(r) });
        else tensors.push({ name, dtype, shape, bytes: u16Bytes(Uint16Array.from(r, encode)) });
      }
      if (dtype === 'F16') expect(subnormals).toBeGreaterThan(0); // std 0.02 weights reach f16's subnormal range
      writeSafetensorsByHand(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });

      const back = loadModel(dir);
      expectSameWeights(back.weights, expected);
      // and it is really rounded: not the original f32 values
      expect(bits(back.weights.get('transformer.wte.weight')!)).not.toEqual(bits(m.weights.get('transformer.wte.weight')!));

      const ref = gpt2ForwardF64(expected, { ...DIMS, layer_norm_epsilon: 1e-5, variant: 'gp-norm' }, IDS);
      expect(relMaxDiff(await logitsOf(back), ref)).toBeLessThan(1e-4);
    });
  }
});

describe('OpenAI-style names', () => {
  it('names without transformer., with attn.bias mask buffers and a tied lm_head, load the same model', async () => {
    const m = smallModel('lr');
    const src = newDir('src');
    saveModel(m, src);
    const dir = newDir('openai');
    copyConfig(src, dir);
    const P = DIMS.n_positions;
    const mask = new Float32Array(P * P);
    for (let i = 0; i < P; i++) for (let j = 0; j <= i; j++) mask[i * P + j] = 1;
    const tensors: HandTensor[] = [];
    for (const n of m.graph.nodes.filter((x) => x.op === 'param')) {
      const name = n.attrs.name as string;
      tensors.push({ name: name.replace(/^transformer\./, ''), dtype: 'F32', shape: n.type.shape as number[], bytes: f32Bytes(m.weights.get(name)!) });
    }
    for (let l = 0; l < DIMS.n_layer; l++) tensors.push({ name: `h.${l}.attn.bias`, dtype: 'F32', shape: [1, 1, P, P], bytes: f32Bytes(mask) });
    tensors.push({ name: 'lm_head.weight', dtype: 'F32', shape: [DIMS.vocab_size, DIMS.n_embd], bytes: f32Bytes(m.weights.get('transformer.wte.weight')!) });
    expect(tensors.some((t) => t.name.startsWith('transformer.'))).toBe(false);
    writeSafetensorsByHand(path.join(dir, 'model.safetensors'), tensors);

    const back = loadModel(dir);
    expectSameWeights(back.weights, m.weights);
    expect(bits(await logitsOf(back))).toEqual(bits(await logitsOf(m)));
  });
});

describe('spec and checkpoint must agree (CLI)', () => {
  function rhc(...args: string[]) {
    return spawnSync(process.execPath, [path.join(ROOT, 'bin/rhc.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  }

  it('an lr checkpoint run with --spec spec/gp.rh is exit 1 with a one-line message naming rotatinghead', () => {
    const dir = newDir('lr-cli');
    const m = smallModel('lr');
    saveModel(m, dir);
    const out = path.join(dir, 'x.npy');
    const r = rhc('forward', dir, '--spec', 'spec/gp.rh', '--ids', '1,2,3', '--out', out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/rotatinghead/);
    expect(r.stderr).toMatch(/gp/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(out)).toBe(false);

    // the matching spec, named explicitly, runs and gives the oracle's logits
    const ok = rhc('forward', dir, '--spec', 'spec/lr.rh', '--ids', '1,2,3', '--out', out);
    expect(ok.status, ok.stderr).toBe(0);
    const logits = readNpy(out);
    expect(logits.shape).toEqual([3, DIMS.vocab_size]);
    const ref = gpt2ForwardF64(m.weights, { ...DIMS, layer_norm_epsilon: 1e-5, variant: 'lr' }, [1, 2, 3]);
    expect(relMaxDiff(logits.data, ref)).toBeLessThan(1e-4);
  });
});
