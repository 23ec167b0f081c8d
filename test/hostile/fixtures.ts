// Fixtures of the hostile suite, made without rhc's writers: the seed specs at tiny dims, and
// checkpoints forged by hand (config.json as Hugging Face writes it, safetensors from
// formats.ts, weights from a seeded generator of our own), plus the expectation for a forward
// pass over one: the float64 oracle of test/helpers/gpt2-f64.ts, fed by the file's own bytes
// and the config as written, with Hugging Face's defaults.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACTIVATIONS_F64, gpt2ForwardF64, relMaxDiff, type ActivationF64, type ModelConfigF64, type VariantF64 } from '../helpers/gpt2-f64.ts';
import { f32Bytes, forgeSafetensors, parseSafetensors, readNpyF32, type ForgedTensor } from './formats.ts';
import { ROOT } from './runner.ts';

/** Seeded uniform [0, 1) (mulberry32): mutations and weights are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normals(n: number, std: number, next: () => number, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** The dims of every forged checkpoint: small enough for milliseconds, big enough for every variant. */
export const TINY = { n_embd: 16, n_layer: 1, n_head: 2, vocab_size: 64, n_positions: 16 } as const;
export const IDS = [1, 5, 9, 63, 0, 7];
export const IDS_ARG = IDS.join(',');

/** The seed specs with gpt2.rh's defaults replaced by TINY (so a bare `check` or `compile` is cheap). */
export function writeTinySpecs(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, 'spec'))) {
    let text = fs.readFileSync(path.join(ROOT, 'spec', f), 'utf8');
    if (f === 'gpt2.rh') {
      for (const [k, v] of Object.entries(TINY)) {
        const re = new RegExp(`^(config ${k}: int = )\\d+`, 'm');
        if (!re.test(text)) throw new Error(`hostile: spec/gpt2.rh has no 'config ${k}: int = N' to shrink`);
        text = text.replace(re, `$1${v}`);
      }
    }
    fs.writeFileSync(path.join(dir, f), text);
  }
}

export const SEED_VARIANTS: readonly VariantF64[] = ['gpt2-abs', 'rope', 'lr', 'lr-norm', 'gp', 'gp-norm'];

/** config.json keys selecting a seed variant, as SEMANTICS.md fixes them. */
export function selectorKeys(v: VariantF64): Record<string, unknown> {
  const head = v.startsWith('lr') ? 'lr' : v.startsWith('gp') ? 'gp' : null;
  const keys: Record<string, unknown> = { rotatinghead: head, use_norm: v.endsWith('-norm') };
  if (v === 'rope') keys.rhc_spec = 'rope';
  if (v === 'gp' || v === 'gp-norm' || v === 'rope') keys.base_frequency = 10000.0;
  return keys;
}

export interface Dims {
  n_embd: number;
  n_layer: number;
  n_head: number;
  vocab_size: number;
  n_positions: number;
}

/** The tensors of a variant at `dims`, GPT-2's names and shapes, with seeded random values. */
export function forgeTensors(v: VariantF64, dims: Dims = TINY, seed = 7): ForgedTensor[] {
  const next = rng(seed);
  const { n_embd: E, n_layer: L, n_head: H, vocab_size: V, n_positions: P } = dims;
  const half = E / H / 2;
  const out: ForgedTensor[] = [];
  // std 0.2 (not GPT-2's 0.02) so that every parameter moves the logits visibly
  const t = (name: string, shape: number[], std: number, mean = 0) => out.push({ name, shape, bytes: f32Bytes(normals(shape.reduce((a, b) => a * b, 1), std, next, mean)) });
  t('transformer.wte.weight', [V, E], 0.2);
  t('transformer.wpe.weight', [P, E], 0.2);
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}`;
    t(`${p}.ln_1.weight`, [E], 0.1, 1);
    t(`${p}.ln_1.bias`, [E], 0.1);
    t(`${p}.attn.c_attn.weight`, [E, 3 * E], 0.2);
    t(`${p}.attn.c_attn.bias`, [3 * E], 0.1);
    t(`${p}.attn.c_proj.weight`, [E, E], 0.2);
    t(`${p}.attn.c_proj.bias`, [E], 0.1);
    if (v === 'lr' || v === 'lr-norm') t(`${p}.attn.rope.frequencies`, [H, half], 0.5);
    if (v === 'lr-norm' || v === 'gp-norm') {
      t(`${p}.attn.rope.layer_norm.weight`, [half], 0.1, 1);
      t(`${p}.attn.rope.layer_norm.bias`, [half], 0.1);
    }
    t(`${p}.ln_2.weight`, [E], 0.1, 1);
    t(`${p}.ln_2.bias`, [E], 0.1);
    t(`${p}.mlp.c_fc.weight`, [E, 4 * E], 0.2);
    t(`${p}.mlp.c_fc.bias`, [4 * E], 0.1);
    t(`${p}.mlp.c_proj.weight`, [4 * E, E], 0.2);
    t(`${p}.mlp.c_proj.bias`, [E], 0.1);
  }
  t('transformer.ln_f.weight', [E], 0.1, 1);
  t('transformer.ln_f.bias', [E], 0.1);
  return out;
}

export function forgeConfig(v: VariantF64, dims: Dims = TINY): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'rotating-head-gpt2',
    activation_function: 'gelu_new',
    ...dims,
    layer_norm_epsilon: 1e-5,
    ...selectorKeys(v),
  };
}

/** A hand-made checkpoint directory: config.json + model.safetensors. */
export function forgeCheckpoint(dir: string, v: VariantF64, opts: { dims?: Dims; seed?: number; config?: (c: Record<string, unknown>) => Record<string, unknown> } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const config = forgeConfig(v, opts.dims);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(opts.config ? opts.config(config) : config, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'model.safetensors'), forgeSafetensors(forgeTensors(v, opts.dims, opts.seed), { metadata: { format: 'pt' } }));
}

const has = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k) && o[k] !== undefined && o[k] !== null;

/** The variant a config.json selects, read as SEMANTICS.md says (undefined: not a seed variant). */
function variantOf(c: Record<string, unknown>): VariantF64 | undefined {
  if (has(c, 'rhc_spec')) {
    const name = String(c.rhc_spec).replace(/\.rh$/, '');
    return (SEED_VARIANTS as readonly string[]).includes(name) ? (name as VariantF64) : undefined;
  }
  const head = has(c, 'rotatinghead') ? c.rotatinghead : null;
  const norm = c.use_norm === true ? '-norm' : '';
  return head === null ? 'gpt2-abs' : head === 'lr' || head === 'gp' ? (`${head}${norm}` as VariantF64) : undefined;
}

/**
 * The oracle's logits for a checkpoint directory as written: its config.json read with Hugging
 * Face's defaults for absent keys, its weights from the file's own bytes. A string says why
 * exit 0 over this checkpoint is wrong in itself (no variant, an activation without a formula,
 * NaN weights nobody warned of); `nonFinite` says the logits cannot be numbers.
 */
function oracleFor(ckDir: string, stderr: string, ids: readonly number[]): { want: Float64Array; vocab: number; nonFinite: boolean } | string {
  const c = JSON.parse(fs.readFileSync(path.join(ckDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const variant = variantOf(c);
  if (!variant) return `exit 0 for a config selecting no known variant (${JSON.stringify({ rotatinghead: c.rotatinghead, use_norm: c.use_norm, rhc_spec: c.rhc_spec })})`;
  const act = has(c, 'activation_function') ? String(c.activation_function) : 'gelu_new';
  if (!Object.hasOwn(ACTIVATIONS_F64, act)) return `exit 0 with activation_function ${JSON.stringify(act)}, which names no activation Hugging Face defines`;
  const num = (k: string, d?: number) => (has(c, k) ? (c[k] as number) : d!);
  const cfg: ModelConfigF64 = {
    n_embd: num('n_embd'),
    n_layer: num('n_layer'),
    n_head: num('n_head'),
    vocab_size: num('vocab_size'),
    n_positions: has(c, 'n_positions') ? num('n_positions') : num('n_ctx', 1024),
    layer_norm_epsilon: num('layer_norm_epsilon', 1e-5),
    variant,
    base_frequency: num('base_frequency', 10000),
    activation_function: act as ActivationF64,
  };
  const st = parseSafetensors(fs.readFileSync(path.join(ckDir, 'model.safetensors')));
  const weights = new Map<string, Float32Array>();
  for (const [name, e] of st.header) {
    if (e.dtype !== 'F32') return `exit 0 with tensor ${name} stored as ${e.dtype} (the probe forged F32 bits under that tag)`;
    const [b, end] = e.data_offsets;
    const bytes = Buffer.from(st.data.subarray(b, end));
    weights.set(name.startsWith('transformer.') || name === 'lm_head.weight' ? name : `transformer.${name}`, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
  }
  const bad = [...weights].filter(([, w]) => w.some((x) => !Number.isFinite(x))).map(([n]) => n);
  const unwarned = bad.filter((n) => !new RegExp(`warning:.*${n.replace(/^transformer\./, '').replace(/\./g, '\\.')}`).test(stderr));
  if (unwarned.length > 0) return `exit 0 without a warning naming ${unwarned.join(', ')}, which hold NaN or Inf`;
  try {
    return { want: gpt2ForwardF64(weights, cfg, ids), vocab: cfg.vocab_size, nonFinite: bad.length > 0 };
  } catch (e) {
    return `exit 0, but the oracle cannot run this checkpoint (${(e as Error).message})`;
  }
}

function compare(got: ArrayLike<number>, shape: readonly number[], o: { want: Float64Array; vocab: number; nonFinite: boolean }, ids: readonly number[], what: string): string | undefined {
  if (shape.join() !== `${ids.length},${o.vocab}`) return `${what} have shape (${shape}), expected (${ids.length}, ${o.vocab})`;
  if (o.nonFinite) return undefined; // warned; the numbers are NaN by construction
  const diff = relMaxDiff(got, o.want);
  return diff < 1e-4 ? undefined : `${what} differ from the float64 oracle for the config as written: relative max difference ${diff.toExponential(2)}`;
}

/**
 * The expectation for `forward <ck> --ids IDS --out <npy>` that exited 0: the logits equal the
 * oracle's to f32 accuracy. Returns what is wrong, or undefined.
 */
export function logitsAsOracle(ckDir: string, npyFile: string, stderr: string, ids: readonly number[] = IDS): string | undefined {
  const o = oracleFor(ckDir, stderr, ids);
  if (typeof o === 'string') return o;
  let got;
  try {
    got = readNpyF32(npyFile);
  } catch (e) {
    return `exit 0, but the output is not a float32 .npy: ${(e as Error).message}`;
  }
  return compare(got.data, got.shape, o, ids, 'logits');
}

/** The same for `compile --target onnx --weights <ck>` that exited 0: onnxruntime runs the model. */
export async function onnxAsOracle(ckDir: string, onnxFile: string, stderr: string, ids: readonly number[] = IDS): Promise<string | undefined> {
  const o = oracleFor(ckDir, stderr, ids);
  if (typeof o === 'string') return o;
  const ort = await import('onnxruntime-node');
  let session;
  try {
    session = await ort.InferenceSession.create(onnxFile);
  } catch (e) {
    return `exit 0, but onnxruntime cannot load ${onnxFile}: ${(e as Error).message}`;
  }
  const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
  const logits = out.logits;
  await session.release();
  return compare(logits.data as Float32Array, logits.dims.slice(1), o, ids, 'onnxruntime logits');
}
