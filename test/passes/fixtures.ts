// Small models and deterministic weights for the pass and backend tests: every spec variant at
// toy dims, weights drawn from a seeded RNG (bigger than GPT-2's init so attention and the
// rotations visibly matter), and the reference interpreter in f64 as the oracle.

import { fileURLToPath } from 'node:url';
import { compileModel } from '../../src/dsl/compile.ts';
import { renderDiagnostic } from '../../src/dsl/diagnostics.ts';
import type { Graph } from '../../src/ir/graph.ts';
import type { RefTensor } from '../../src/ir/reference.ts';
import { interpret, paramTensors } from '../../src/runtime/reference/interpreter.ts';
import { Rng } from '../../src/io/rng.ts';

export const SPECS = ['gpt2-abs', 'rope', 'gp', 'gp-norm', 'lr', 'lr-norm'] as const;
export type Spec = (typeof SPECS)[number];
/** Variants whose frequencies follow from the config alone (their cos/sin fold to tables). */
export const FIXED_ROPE: readonly Spec[] = ['rope', 'gp'];
export const LEARNABLE_ROPE: readonly Spec[] = ['lr', 'lr-norm', 'gp-norm'];

export const SMALL = { n_embd: 32, n_head: 4, n_layer: 2, vocab_size: 97, n_positions: 32 };

export function compileSpec(spec: Spec, dims: Record<string, number> = SMALL): Graph {
  const file = fileURLToPath(new URL(`../../spec/${spec}.rh`, import.meta.url));
  const overrides = Object.entries(dims).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
  const r = compileModel(file, { overrides });
  if (!r.graph) throw new Error(r.diagnostics.map((d) => renderDiagnostic(d, r.sources)).join('\n'));
  return r.graph;
}

export function randomWeights(g: Graph, seed = 7): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>();
  for (const n of g.nodes) {
    if (n.op !== 'param') continue;
    const size = (n.type.shape as number[]).reduce((p, d) => p * d, 1);
    const init = n.attrs.init as { kind: string; std?: number };
    const w = new Float32Array(size);
    if (init.kind === 'normal') rng.fillNormal(w, 0, Math.max(init.std!, 0.2));
    else rng.fillNormal(w, init.kind === 'ones' ? 1 : 0, 0.1);
    weights.set(n.attrs.name as string, w);
  }
  return weights;
}

export function randomIds(count: number, vocab: number, seed = 3): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: count }, () => Math.floor(rng.uniform() * vocab));
}

function tensor(dtype: 'f32' | 'i32', shape: number[], data: Float32Array | Float64Array | Int32Array): RefTensor {
  return { dtype, shape, data };
}

/** All outputs of `g` for ids [batch, seq] at positions start .. start+seq-1, in f64. */
export function runReference(
  g: Graph,
  weights: ReadonlyMap<string, Float32Array>,
  ids: Int32Array,
  batch: number,
  seq: number,
  extra: ReadonlyMap<string, RefTensor> = new Map(),
  start = 0,
): Map<string, RefTensor> {
  const pos = Int32Array.from({ length: seq }, (_, i) => start + i);
  const inputs = new Map<string, RefTensor>([['ids', tensor('i32', [batch, seq], ids)], ['pos', tensor('i32', [seq], pos)], ...extra]);
  return interpret(g, { inputs, params: paramTensors(g, weights), precision: 'f64' });
}

/** max |a - b| / max |b|: the relative error measure of the backend tests. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

export function countOps(g: Graph, op: string): number {
  return g.nodes.filter((n) => n.op === op).length;
}
