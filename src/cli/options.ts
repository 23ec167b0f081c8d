// Option parsers shared by the commands.

import { OPT_LEVELS, type OptLevel } from '../passes/fuse.ts';
import { parseSetOption, type ConfigOverride } from '../dsl/config.ts';
import { UsageError } from './errors.ts';

export function collectSet(value: string, previous: ConfigOverride[] = []): ConfigOverride[] {
  try {
    return [...previous, parseSetOption(value)];
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function parseIntOption(name: string) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new UsageError(`${name} expects an integer, got '${value}'`);
    // Checked here, before any output: a seed of 2^64 must not fail after the prompt has streamed.
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new UsageError(`${name}: ${value} is too large (at most ${Number.MAX_SAFE_INTEGER} in magnitude)`);
    return n;
  };
}

export function parseNumberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} expects a number, got '${value}'`);
    return n;
  };
}

/** `--ids 15496,995,11` */
export function parseIds(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ids = parts.map(Number);
  const bad = parts.findIndex((p, i) => !/^\d+$/.test(p) || !Number.isSafeInteger(ids[i]));
  if (bad >= 0) throw new UsageError(`--ids expects comma-separated non-negative integers, got '${parts[bad]}' at position ${bad + 1}`);
  return ids;
}

/** An option that takes one of a fixed set of words (`--backend cpu|onnx|webgpu`). */
export function parseChoice(name: string, choices: readonly string[]) {
  return (value: string): string => {
    if (!choices.includes(value)) throw new UsageError(`${name}: unknown value '${value}' (one of: ${choices.join(', ')})`);
    return value;
  };
}

/** `-O <level>`: 0 (one kernel per op), 1 (matmul epilogues), 2 (every fusion rule; the default). */
export const OPT_LEVEL_HELP = 'optimisation level: 0 (one kernel per op), 1 (matmul epilogues), 2 (every fusion rule: q/k/v heads with RoPE in the projection)';

export function parseOptLevel(text: string): OptLevel {
  const level = OPT_LEVELS.find((l) => String(l) === text.trim());
  if (level === undefined) throw new UsageError(`-O: expected one of ${OPT_LEVELS.join(', ')}, got '${text}'`);
  return level;
}

/** Token ids a model can take: inside its vocabulary, no more than its positions. */
export function checkIdsFit(ids: readonly number[], config: Readonly<Record<string, unknown>>): void {
  const vocab = config.vocab_size as number;
  const maxPos = config.n_positions as number;
  const badId = ids.find((id) => id >= vocab);
  if (badId !== undefined) throw new UsageError(`token id ${badId} is outside the vocabulary (vocab_size ${vocab})`);
  if (ids.length > maxPos) throw new UsageError(`${ids.length} tokens exceed n_positions ${maxPos}`);
}
