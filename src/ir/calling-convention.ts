// The model's calling convention: the names of a compiled model's inputs and outputs. They
// are fixed, not configurable, because they are what Hugging Face transformers / Optimum
// give a GPT-2 causal LM (`input_ids` -> `logits`, and a decoder-with-past's
// `past_key_values.{i}.key|value` inputs and `present.{i}.key|value` outputs), so that an
// exported model drops into tools written for those. Every pass, backend and runtime that
// looks a boundary tensor up by name spells it through this module.
//
// Layer numbers are canonical decimal: `past_key_values.01.key` is not a cache name (only
// `past_key_values.1.key` is), so parse(build(layer)) and build(parse(name)) are identities.

/** Token ids [B, S], i32 in the IR. */
export const IDS_INPUT = 'ids';
/** Absolute positions [S], i32; backends compute it from the cached length where they can. */
export const POSITIONS_INPUT = 'pos';
/** Next-token logits [B, S, vocab] (or [B, rows, vocab] after the last-position pass). */
export const LOGITS_OUTPUT = 'logits';
/** The ids input as the ONNX boundary names it (int64 there, cast to the IR's i32 `ids`). */
export const ONNX_IDS_INPUT = 'input_ids';

const PAST_PREFIX = 'past_key_values';
const PRESENT_PREFIX = 'present';

export type CacheKind = 'key' | 'value';
export const CACHE_KINDS: readonly CacheKind[] = ['key', 'value'];

/** Which cache tensor a past/present name denotes. */
export interface CacheName {
  layer: number;
  kind: CacheKind;
}

const cacheName = (prefix: string, layer: number, kind: CacheKind): string => {
  if (!Number.isSafeInteger(layer) || layer < 0) throw new Error(`cache layer must be a non-negative integer, got ${layer}`);
  return `${prefix}.${layer}.${kind}`;
};

/** `past_key_values.{layer}.{kind}`: the cache of `layer` fed in. */
export const pastName = (layer: number, kind: CacheKind): string => cacheName(PAST_PREFIX, layer, kind);
/** `present.{layer}.{kind}`: the cache of `layer` returned, past and new together. */
export const presentName = (layer: number, kind: CacheKind): string => cacheName(PRESENT_PREFIX, layer, kind);

/** `<prefix>.<layer>.<kind>` with a canonical decimal layer of at most 9 digits. */
const cachePattern = (prefix: string): RegExp => new RegExp(`^${prefix}\\.(0|[1-9]\\d{0,8})\\.(${CACHE_KINDS.join('|')})$`);
const PAST = cachePattern(PAST_PREFIX);
const PRESENT = cachePattern(PRESENT_PREFIX);

const parse = (re: RegExp, name: string): CacheName | undefined => {
  const m = re.exec(name);
  return m ? { layer: Number(m[1]), kind: m[2] as CacheKind } : undefined;
};

/** The layer and kind of a past_key_values input name, or undefined if it is not one. */
export const parsePast = (name: string): CacheName | undefined => parse(PAST, name);
/** The layer and kind of a present output name, or undefined if it is not one. */
export const parsePresent = (name: string): CacheName | undefined => parse(PRESENT, name);

/** The present output that carries `past` (a past_key_values name) forward, or undefined. */
export const presentFor = (past: string): string | undefined => {
  const c = parsePast(past);
  return c ? presentName(c.layer, c.kind) : undefined;
};
