// Hugging Face checkpoint directories: config.json + model.safetensors (or shards listed in
// model.safetensors.index.json). Names and layout follow shared/SEMANTICS.md "Checkpoints".
// Reading them; checkpoint-write.ts writes them. Every read is bounded and of regular files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../errors.ts';
import { readTextFile } from './files.ts';
import { readSafetensors, type SafetensorsFile } from './safetensors.ts';
import { parseHfConfig, type HfConfig } from './hf-config.ts';

export type { HfConfig, RotatingHead } from './hf-config.ts';

/** A config.json is a few hundred bytes; anything past this is not one. */
export const MAX_CONFIG_BYTES = 2 ** 20;
/** A shard index lists one line per tensor: GPT-2 XL's is 40 KiB. */
export const MAX_INDEX_BYTES = 16 * 2 ** 20;

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

export function readHfConfig(dir: string): HfConfig {
  checkDir(dir);
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new RhcError(`${file}: missing; a checkpoint directory needs a config.json (Hugging Face GPT-2 config)`);
  const text = readTextFile(file, { maxBytes: MAX_CONFIG_BYTES, what: 'config.json' });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RhcError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  // The checks themselves are shared with the browser-safe artifact loader.
  return parseHfConfig(raw, file);
}

/** Mask buffers that GPT-2 files carry but that are not weights. */
const BUFFER_RE = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;

function listSome(items: string[], limit = 10): string {
  const shown = items.slice(0, limit).join(', ');
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

/** The files a checkpoint's weights come from: the safetensors files, and the shard index when there is one. */
export interface WeightFiles {
  files: string[];
  index?: string;
}

/** The safetensors files of a checkpoint, from the shard index when there is one. */
export function weightFiles(dir: string): WeightFiles {
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(single)) return { files: [single] };
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(indexFile)) {
    let index: unknown;
    const text = readTextFile(indexFile, { maxBytes: MAX_INDEX_BYTES, what: 'shard index' });
    try {
      index = JSON.parse(text);
    } catch (e) {
      throw new RhcError(`${indexFile}: not valid JSON: ${(e as Error).message}`);
    }
    const map = isObject(index) ? index.weight_map : undefined;
    const isShardName = (v: unknown) => typeof v === 'string' && v !== '' && v !== '.' && v !== '..' && !v.includes('/') && !v.includes('\\');
    if (!isObject(map) || !Object.values(map).every(isShardName)) {
      throw new RhcError(`${indexFile}: "weight_map" must map tensor names to shard file names in the same directory`);
    }
    return { files: [...new Set(Object.values(map) as string[])].sort().map((f) => path.join(dir, f)), index: indexFile };
  }
  const hint = fs.existsSync(path.join(dir, 'pytorch_model.bin'))
    ? ' It has pytorch_model.bin, which rhc does not read: re-save it with model.save_pretrained(dir, safe_serialization=True).'
    : '';
  throw new RhcError(`checkpoint '${dir}' has no model.safetensors (nor model.safetensors.index.json).${hint}`);
}

/** The files a checkpoint is read from: config.json, the shard index if any, the safetensors files. */
export function checkpointFiles(dir: string): string[] {
  checkDir(dir);
  const w = weightFiles(dir);
  return [path.join(dir, 'config.json'), ...(w.index ? [w.index] : []), ...w.files];
}

/** The float dtypes a parameter may be stored in; an integer tensor is not a weight (its bits would be misread). */
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);

function nonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

/** Equal as weights: NaN equals NaN (a tied head copied from a wte holding NaN is still tied). */
function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

export interface LoadOptions {
  /** told one line per tensor holding NaN or Inf; by default written to stderr as `warning: ...` */
  warn?: (message: string) => void;
}

const warnOnStderr = (message: string) => {
  process.stderr.write(`warning: ${message}\n`);
};

/**
 * Loads exactly the `expected` tensors (full HF names) as float32, converting F16/BF16.
 * Names without `transformer.` (OpenAI's GPT-2 files) are accepted; attention mask buffers are
 * skipped; `lm_head.weight` is skipped because rhc ties it to wte — but it is checked to equal
 * wte, since silently dropping an untied head would give wrong logits. Integer tensors are
 * refused (float data tagged I32 would load as garbage); NaN and Inf load, with a warning.
 */
export function loadWeights(dir: string, expected: readonly ExpectedTensor[], opts: LoadOptions = {}): Map<string, Float32Array> {
  checkDir(dir);
  const warn = opts.warn ?? warnOnStderr;
  const want = new Map(expected.map((e) => [e.name, e]));
  const found = new Map<string, { file: SafetensorsFile; stored: string }>();
  const unexpected: string[] = [];
  let lmHead: { file: SafetensorsFile; stored: string } | undefined;

  for (const filePath of weightFiles(dir).files) {
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
    const t = file.get(stored);
    const as = stored === e.name ? '' : ` (stored as '${stored}')`;
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new RhcError(`${file.path}: tensor '${e.name}'${as} has shape ${fmtShape(t.shape)}, expected ${fmtShape(e.shape)}`);
    }
    if (!FLOAT_DTYPES.has(t.dtype)) {
      throw new RhcError(`${file.path}: tensor '${e.name}'${as} is stored as ${t.dtype}, an integer dtype; a weight must be F32, F16, BF16 or F64`);
    }
  }

  const out = new Map<string, Float32Array>();
  for (const e of expected) {
    const { file, stored } = found.get(e.name)!;
    const data = file.get(stored).toFloat32();
    const bad = nonFinite(data);
    if (bad > 0) warn(`${file.path}: tensor '${e.name}' has ${bad.toLocaleString('en-US')} non-finite value(s) (NaN or Inf) among ${data.length.toLocaleString('en-US')}`);
    out.set(e.name, data);
  }
  const wte = out.get('transformer.wte.weight');
  if (lmHead && wte) {
    const t = lmHead.file.get(lmHead.stored);
    if (!FLOAT_DTYPES.has(t.dtype) || !sameValues(t.toFloat32(), wte)) {
      throw new RhcError(`${lmHead.file.path}: lm_head.weight ${fmtShape(t.shape)} differs from transformer.wte.weight; rhc ties the output head to the token embedding as GPT-2 does, so untied checkpoints are not supported`);
    }
  }
  return out;
}

/** A dimension a configuration asks for, and who asks (for messages: "ck/config.json says", "--set gives"). */
export interface DimClaim {
  value: number;
  from: string;
}

export type LayoutDims = Partial<Record<'n_layer' | 'vocab_size' | 'n_embd' | 'n_positions', DimClaim>>;

/**
 * Checks the dims a configuration asks for against the tensors a checkpoint holds, reading only
 * the files' headers: a config.json saying n_layer=1000000 over a one-layer file must fail here,
 * in milliseconds, not after lowering (and allocating) a million layers. GPT-2's layout names
 * them: blocks `h.<i>.`, `wte` [vocab_size, n_embd], `wpe` [n_positions, n_embd]; a dim whose
 * tensors are absent (a spec of another layout, a rope model without wpe) is not checked here.
 */
export function checkDimsAgainstWeights(dir: string, dims: LayoutDims): void {
  checkDir(dir);
  const layers = new Set<number>();
  const shapes = new Map<string, { shape: readonly number[]; file: string }>();
  for (const filePath of weightFiles(dir).files) {
    const file = readSafetensors(filePath);
    for (const stored of file.names()) {
      const name = stored.replace(/^transformer\./, '');
      const m = /^h\.(\d+)\./.exec(name);
      if (m) layers.add(Number(m[1]));
      else if (name === 'wte.weight' || name === 'wpe.weight') shapes.set(name, { shape: file.get(stored).shape, file: filePath });
    }
  }
  const refuse = (claim: DimClaim, key: string, has: string): never => {
    throw new RhcError(`${claim.from} ${key}=${claim.value}, but ${has}; the config does not describe these weights`);
  };
  if (dims.n_layer && layers.size > 0) {
    const top = Math.max(...layers);
    if (dims.n_layer.value !== top + 1) refuse(dims.n_layer, 'n_layer', `the checkpoint '${dir}' has layers 0..${top} (h.0 to h.${top})`);
  }
  const against = (tensor: string, axis: number, key: keyof LayoutDims) => {
    const t = shapes.get(tensor);
    const claim = dims[key];
    if (!t || !claim || t.shape.length !== 2 || t.shape[axis] === claim.value) return;
    refuse(claim, key, `${t.file} has transformer.${tensor} ${fmtShape(t.shape)} (${key} ${t.shape[axis]})`);
  };
  against('wte.weight', 0, 'vocab_size');
  against('wte.weight', 1, 'n_embd');
  against('wpe.weight', 0, 'n_positions');
  against('wpe.weight', 1, 'n_embd');
}
