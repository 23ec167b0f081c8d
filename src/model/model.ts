// A model ready to run: its graph (a spec lowered with a configuration) and its weights,
// from a Hugging Face checkpoint directory or freshly initialised as GPT-2 does.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiagnosticsError, RhcError } from '../dsl/diagnostics.ts';
import { compileModel } from '../dsl/compile.ts';
import type { ConfigOverride } from '../dsl/config.ts';
import { graphParams, type Graph, type InitSpec } from '../ir/graph.ts';
import { loadWeights, readHfConfig, saveCheckpoint } from '../io/checkpoint.ts';
import { Rng } from '../io/rng.ts';
import { checkSpecMatchesConfig, configKeysForSpec, specForConfig } from './spec.ts';

/** The largest Float32Array Node allocates (2^32 - 1 elements). */
const MAX_TENSOR_ELEMENTS = 2 ** 32 - 1;

export interface Model {
  specFile: string;
  graph: Graph;
  weights: Map<string, Float32Array>;
  /** config.json contents describing this model */
  hfConfig: Record<string, unknown>;
}

export function lowerSpec(specFile: string, overrides: readonly ConfigOverride[] = []): Graph {
  const r = compileModel(specFile, { overrides });
  if (!r.graph) throw new DiagnosticsError(r.diagnostics, r.sources);
  return r.graph;
}

/** config.json values as overrides: only keys the spec declares are taken. */
export function overridesFromConfig(raw: Record<string, unknown>): ConfigOverride[] {
  return Object.entries(raw)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'boolean')
    .map(([name, value]) => ({ name, value: value as number | boolean, origin: 'config.json', strict: false }));
}

export function paramShapes(graph: Graph): { name: string; shape: number[] }[] {
  return graphParams(graph).map((n) => ({ name: n.attrs.name as string, shape: n.type.shape as number[] }));
}

/** config.json for a graph: GPT-2 keys plus what selects the spec. */
export function hfConfigFor(graph: Graph, specFile: string, base: Record<string, unknown> = {}): Record<string, unknown> {
  // The spec's own selectors replace the checkpoint's: a stale rhc_spec must not survive --spec.
  const { rhc_spec: _, ...rest } = base;
  return {
    ...rest,
    architectures: ['GPT2LMHeadModel'],
    activation_function: 'gelu_new',
    ...graph.config,
    ...configKeysForSpec(specFile),
  };
}

export interface CheckpointOptions {
  /** use this spec instead of the one config.json selects (it must select the same) */
  spec?: string;
  overrides?: readonly ConfigOverride[];
}

/** A checkpoint's graph without its weights: its spec lowered with its config.json (and overrides). */
export function graphForCheckpoint(dir: string, opts: CheckpointOptions = {}): { specFile: string; graph: Graph; raw: Record<string, unknown> } {
  const cfg = readHfConfig(dir);
  const specFile = opts.spec ? path.resolve(opts.spec) : specForConfig(cfg.raw, dir);
  if (opts.spec) checkSpecMatchesConfig(specFile, cfg.raw, dir);
  const graph = lowerSpec(specFile, [...overridesFromConfig(cfg.raw), ...(opts.overrides ?? [])]);
  return { specFile, graph, raw: cfg.raw };
}

/** Loads a checkpoint directory: graph and weights. */
export function loadModel(dir: string, opts: CheckpointOptions = {}): Model {
  const { specFile, graph, raw } = graphForCheckpoint(dir, opts);
  const weights = loadWeights(dir, paramShapes(graph));
  return { specFile, graph, weights, hfConfig: hfConfigFor(graph, specFile, raw) };
}

function fill(init: InitSpec, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  if (init.kind === 'ones') out.fill(1);
  else if (init.kind === 'normal') rng.fillNormal(out, 0, init.std);
  return out;
}

/** GPT-2's initialisation, as each parameter's declaration says; the same seed gives the same weights. */
export function initModel(specFile: string, opts: { seed?: number; overrides?: readonly ConfigOverride[] } = {}): Model {
  const graph = lowerSpec(specFile, opts.overrides);
  const rng = new Rng(opts.seed ?? 0);
  const weights = new Map<string, Float32Array>();
  for (const p of graphParams(graph)) {
    const shape = p.type.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    // A typed array holds at most 2^32 - 1 elements here; say so rather than fail inside V8.
    if (n > MAX_TENSOR_ELEMENTS)
      throw new RhcError(`parameter '${p.attrs.name}' [${shape.join(', ')}] has ${n.toLocaleString('en-US')} elements, more than one tensor can hold (${MAX_TENSOR_ELEMENTS.toLocaleString('en-US')})`);
    weights.set(p.attrs.name as string, fill(p.attrs.init as InitSpec, n, rng));
  }
  return { specFile: path.resolve(specFile), graph, weights, hfConfig: hfConfigFor(graph, specFile) };
}

export function saveModel(model: Model, dir: string): void {
  const tensors = paramShapes(model.graph).map(({ name, shape }) => {
    const data = model.weights.get(name);
    if (!data) throw new RhcError(`no weights for parameter '${name}'`);
    return { name, shape, data };
  });
  saveCheckpoint(dir, model.hfConfig, tensors);
  // A spec outside rhc's library travels with its checkpoint, so the directory loads alone.
  const own = model.hfConfig.rhc_spec;
  if (typeof own === 'string' && own.endsWith('.rh') && path.resolve(dir, own) !== path.resolve(model.specFile))
    fs.copyFileSync(model.specFile, path.join(dir, own));
}
