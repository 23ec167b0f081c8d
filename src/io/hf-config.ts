// What a checkpoint's config.json must say, checked once for both readers: the CLI
// (src/io/checkpoint.ts readHfConfig) and the browser-safe WebGPU artifact loader
// (src/runtime/webgpu/artifact-model.ts). One rule, so a config.json the CLI refuses is
// refused by the loader with the same words. Pure: no fs, no process.

import { RhcError } from '../errors.ts';

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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseRotatingHead(where: string, v: unknown): RotatingHead | null {
  if (v === undefined || v === null) return null;
  if (v === 'lr' || v === 'gp') return v;
  throw new RhcError(`${where}: unknown rotatinghead ${JSON.stringify(v)} (expected "lr", "gp" or null for plain GPT-2)`);
}

/**
 * GPT2Config keys that change what the model computes, with the one value rhc's GPT-2 (spec/gpt2.rh)
 * computes. Hugging Face would read any other value and give other logits (or refuse the
 * weights), so a checkpoint that sets one is refused rather than run as something it is not.
 */
const FIXED_KEYS: readonly { key: string; value: unknown; means: string }[] = [
  { key: 'scale_attn_weights', value: true, means: 'attention scores are scaled by 1/sqrt(head size)' },
  { key: 'scale_attn_by_inverse_layer_idx', value: false, means: 'no layer scales its attention scores by 1/(layer index + 1)' },
  { key: 'tie_word_embeddings', value: true, means: 'the output head is the token embedding (lm_head tied to wte)' },
  { key: 'add_cross_attention', value: false, means: 'the model has no cross-attention layers' },
];

function checkArchitectureKeys(where: string, get: (key: string) => unknown, n_embd: number): void {
  for (const { key, value, means } of FIXED_KEYS) {
    const v = get(key);
    if (v !== undefined && v !== value)
      throw new RhcError(`${where}: "${key}": ${JSON.stringify(v)} is not supported; rhc computes ${key}=${JSON.stringify(value)} (${means})`);
  }
  // n_inner null (or absent) means 4 * n_embd, GPT-2's MLP width, which is what the spec builds.
  const inner = get('n_inner');
  if (inner !== undefined && inner !== null && inner !== 4 * n_embd)
    throw new RhcError(`${where}: "n_inner": ${JSON.stringify(inner)} is not supported; rhc's GPT-2 MLP is 4 * n_embd = ${4 * n_embd} wide (use null)`);
}

/**
 * Checks parsed config.json contents (`where` names the file in messages): the GPT-2 keys rhc
 * needs are present and of the right kind, and the dims fit together.
 */
export function parseHfConfig(raw: unknown, where: string): HfConfig {
  if (!isObject(raw)) throw new RhcError(`${where}: must be a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`);
  // Own keys only: a config.json is data, and `constructor` must not be found on Object.prototype.
  const get = (key: string): unknown => (Object.hasOwn(raw, key) ? raw[key] : undefined);
  const bad = (key: string, want: string): never => {
    throw new RhcError(`${where}: "${key}" must be ${want}, got ${JSON.stringify(get(key))}`);
  };
  const posInt = (key: string, fallback?: number): number => {
    const v = get(key) ?? fallback;
    if (v === undefined) throw new RhcError(`${where}: required key "${key}" is missing`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) bad(key, 'a positive integer');
    return v as number;
  };
  const optString = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') bad(key, 'a string');
    return v as string;
  };

  const n_embd = posInt('n_embd');
  const n_layer = posInt('n_layer');
  const n_head = posInt('n_head');
  const vocab_size = posInt('vocab_size');
  // GPT2Config defaults; old OpenAI configs call the context length n_ctx.
  const n_positions = posInt(get('n_positions') === undefined && get('n_ctx') !== undefined ? 'n_ctx' : 'n_positions', 1024);
  const eps = get('layer_norm_epsilon') ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) bad('layer_norm_epsilon', 'a positive number');
  const use_norm = get('use_norm') ?? false;
  if (typeof use_norm !== 'boolean') bad('use_norm', 'true or false');
  const base_frequency = get('base_frequency') ?? undefined;
  if (base_frequency !== undefined && (typeof base_frequency !== 'number' || !(base_frequency > 0))) bad('base_frequency', 'a positive number');
  const rotatinghead = parseRotatingHead(where, get('rotatinghead'));

  checkArchitectureKeys(where, get, n_embd);
  if (n_embd % n_head !== 0) throw new RhcError(`${where}: n_embd ${n_embd} is not divisible by n_head ${n_head}`);
  if (rotatinghead && (n_embd / n_head) % 2 !== 0) {
    throw new RhcError(`${where}: head size n_embd/n_head = ${n_embd / n_head} must be even for rotary embeddings (rotatinghead "${rotatinghead}")`);
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
