// Hugging Face checkpoint directories: config.json + model.safetensors (or shards listed in
// model.safetensors.index.json). Names and layout follow shared/SEMANTICS.md "Checkpoints".

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../dsl/diagnostics.ts';
import { readSafetensors, writeSafetensors, type SafetensorsFile, type TensorToWrite } from './safetensors.ts';

export type RotatingHead = 'lr' | 'gp';

export interface HfConfig {
  n_embd: number;
  n_layer: number;
  n_head: number;
  vocab_size: number;
  n_positions: number;
  layer_norm_epsilon: number;
  activation_function?: string;
  model_type?: string;
  rotatinghead: RotatingHead | null;
  use_norm: boolean;
  base_frequency?: number;
  /** The whole parsed config.json, for keys rhc does not interpret. */
  raw: Record<string, unknown>;
}

export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function checkDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new RhcError(`checkpoint directory '${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw new RhcError(`checkpoint '${dir}' is not a directory (expected a folder with config.json and model.safetensors)`);
}

function parseRotatingHead(where: string, v: unknown): RotatingHead | null {
  if (v === undefined || v === null) return null;
  if (v === 'lr' || v === 'gp') return v;
  throw new RhcError(`${where}: unknown rotatinghead ${JSON.stringify(v)} (expected "lr", "gp" or null for plain GPT-2)`);
}

export function readHfConfig(dir: string): HfConfig {
  checkDir(dir);
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new RhcError(`${file}: missing; a checkpoint directory needs a config.json (Hugging Face GPT-2 config)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RhcError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new RhcError(`${file}: must be a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`);

  const bad = (key: string, want: string): never => {
    throw new RhcError(`${file}: "${key}" must be ${want}, got ${JSON.stringify(raw[key])}`);
  };
  const posInt = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (v === undefined) throw new RhcError(`${file}: required key "${key}" is missing`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) bad(key, 'a positive integer');
    return v as number;
  };
  const optString = (key: string): string | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') bad(key, 'a string');
    return v as string;
  };

  const n_embd = posInt('n_embd');
  const n_layer = posInt('n_layer');
  const n_head = posInt('n_head');
  const vocab_size = posInt('vocab_size');
  // GPT2Config defaults; old OpenAI configs call the context length n_ctx.
  const n_positions = posInt(raw.n_positions === undefined && raw.n_ctx !== undefined ? 'n_ctx' : 'n_positions', 1024);
  const eps = raw.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) bad('layer_norm_epsilon', 'a positive number');
  const use_norm = raw.use_norm ?? false;
  if (typeof use_norm !== 'boolean') bad('use_norm', 'true or false');
  const base_frequency = raw.base_frequency ?? undefined;
  if (base_frequency !== undefined && (typeof base_frequency !== 'number' || !(base_frequency > 0))) bad('base_frequency', 'a positive number');
  const rotatinghead = parseRotatingHead(file, raw.rotatinghead);

  if (n_embd % n_head !== 0) throw new RhcError(`${file}: n_embd ${n_embd} is not divisible by n_head ${n_head}`);
  if (rotatinghead && (n_embd / n_head) % 2 !== 0) {
    throw new RhcError(`${file}: head size n_embd/n_head = ${n_embd / n_head} must be even for rotary embeddings (rotatinghead "${rotatinghead}")`);
  }
  return {
    n_embd,
    n_layer,
    n_head,
    vocab_size,
    n_positions,
    layer_norm_epsilon: eps as number,
    activation_function: optString('activation_function'),
    model_type: optString('model_type'),
    rotatinghead,
    use_norm: use_norm as boolean,
    base_frequency: base_frequency as number | undefined,
    raw,
  };
}

/** Mask buffers that GPT-2 files carry but that are not weights. */
const BUFFER_RE = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;

function listSome(items: string[], limit = 10): string {
  const shown = items.slice(0, limit).join(', ');
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

/** The safetensors files of a checkpoint, from the shard index when there is one. */
function weightFiles(dir: string): string[] {
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(single)) return [single];
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(indexFile)) {
    let index: unknown;
    try {
      index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    } catch (e) {
      throw new RhcError(`${indexFile}: not valid JSON: ${(e as Error).message}`);
    }
    const map = isObject(index) ? index.weight_map : undefined;
    if (!isObject(map) || !Object.values(map).every((v) => typeof v === 'string' && v !== '' && !v.includes('/') && !v.includes('\\'))) {
      throw new RhcError(`${indexFile}: "weight_map" must map tensor names to shard file names in the same directory`);
    }
    return [...new Set(Object.values(map) as string[])].sort().map((f) => path.join(dir, f));
  }
  const hint = fs.existsSync(path.join(dir, 'pytorch_model.bin'))
    ? ' It has pytorch_model.bin, which rhc does not read: re-save it with model.save_pretrained(dir, safe_serialization=True).'
    : '';
  throw new RhcError(`checkpoint '${dir}' has no model.safetensors (nor model.safetensors.index.json).${hint}`);
}

/**
 * Loads exactly the `expected` tensors (full HF names) as float32, converting F16/BF16.
 * Names without `transformer.` (OpenAI's GPT-2 files) are accepted; attention mask buffers are
 * skipped; `lm_head.weight` is skipped because rhc ties it to wte — but it is checked to equal
 * wte, since silently dropping an untied head would give wrong logits.
 */
export function loadWeights(dir: string, expected: readonly ExpectedTensor[]): Map<string, Float32Array> {
  checkDir(dir);
  const want = new Map(expected.map((e) => [e.name, e]));
  const found = new Map<string, { file: SafetensorsFile; stored: string }>();
  const unexpected: string[] = [];
  let lmHead: { file: SafetensorsFile; stored: string } | undefined;

  for (const filePath of weightFiles(dir)) {
    const file = readSafetensors(filePath);
    for (const stored of file.names()) {
      const name = want.has(stored) ? stored : want.has(`transformer.${stored}`) ? `transformer.${stored}` : undefined;
      if (name !== undefined) {
        const prev = found.get(name);
        if (prev) throw new RhcError(`${filePath}: tensor '${name}' is stored twice (as '${prev.stored}' in ${prev.file.path} and as '${stored}')`);
        found.set(name, { file, stored });
      } else if (stored === 'lm_head.weight') {
        lmHead = { file, stored };
      } else if (!BUFFER_RE.test(stored)) {
        unexpected.push(stored);
      }
    }
  }

  const missing = expected.filter((e) => !found.has(e.name));
  if (missing.length > 0) {
    throw new RhcError(`checkpoint '${dir}' is missing ${missing.length} tensor(s) the model needs: ${listSome(missing.map((m) => `'${m.name}' ${fmtShape(m.shape)}`))}`);
  }
  if (unexpected.length > 0) {
    throw new RhcError(`checkpoint '${dir}' has ${unexpected.length} tensor(s) this model does not use (wrong spec or config?): ${listSome(unexpected.map((n) => `'${n}'`))}`);
  }
  for (const e of expected) {
    const { file, stored } = found.get(e.name)!;
    const shape = file.get(stored).shape;
    if (shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
      const as = stored === e.name ? '' : ` (stored as '${stored}')`;
      throw new RhcError(`${file.path}: tensor '${e.name}'${as} has shape ${fmtShape(shape)}, expected ${fmtShape(e.shape)}`);
    }
  }

  const out = new Map<string, Float32Array>();
  for (const e of expected) {
    const { file, stored } = found.get(e.name)!;
    out.set(e.name, file.get(stored).toFloat32());
  }
  const wte = out.get('transformer.wte.weight');
  if (lmHead && wte) {
    const t = lmHead.file.get(lmHead.stored);
    const head = t.toFloat32();
    if (head.length !== wte.length || head.some((v, i) => v !== wte[i])) {
      throw new RhcError(`${lmHead.file.path}: lm_head.weight ${fmtShape(t.shape)} differs from transformer.wte.weight; rhc ties the output head to the token embedding as GPT-2 does, so untied checkpoints are not supported`);
    }
  }
  return out;
}

/** Writes config.json and model.safetensors (F32, with the `format: pt` metadata transformers requires). */
export function saveCheckpoint(dir: string, config: Record<string, unknown>, tensors: readonly TensorToWrite[]): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  } catch (e) {
    throw new RhcError(`cannot write checkpoint to '${dir}': ${(e as Error).message}`);
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}
