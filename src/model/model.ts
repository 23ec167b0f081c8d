// A model ready to run: its graph (a spec lowered with a configuration) and its weights,
// from a Hugging Face checkpoint directory or freshly initialised as GPT-2 does.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiagnosticsError } from '../dsl/diagnostics.ts';
import { RhcError } from '../errors.ts';
import { compileModel } from '../dsl/compile.ts';
import { intFromText, type ConfigOverride } from '../dsl/config.ts';
import { graphParams, type Graph, type InitSpec } from '../ir/graph.ts';
import { BUNDLED_SPEC_DIR } from '../dsl/loader.ts';
import { checkDimsAgainstWeights, checkpointFiles, loadWeights, readHfConfig, type LayoutDims, type LoadOptions } from '../io/checkpoint.ts';
import { checkReplaceableCheckpoint, writeCheckpointFiles } from '../io/checkpoint-write.ts';
import { checkOutputNotInput, formatBytes, replaceDirAtomic, writingFiles } from '../io/files.ts';
import { Rng } from '../io/rng.ts';
import { checkSpecMatchesConfig, configKeysForSpec, specForConfig } from './spec.ts';

/** The largest Float32Array Node allocates (2^32 - 1 elements). */
const MAX_TENSOR_ELEMENTS = 2 ** 32 - 1;

export interface Model {
  specFile: string;
  /** the spec's source when it was given as text rather than read from specFile (a checkpoint saves it) */
  specText?: string;
  /** every .rh file the spec loaded (absolute; the spec itself and its imports, bundled ones too) */
  specFiles: string[];
  /** every file the model was read from: its spec files, and a checkpoint's config.json and weights */
  inputs: string[];
  graph: Graph;
  weights: Map<string, Float32Array>;
  /** config.json contents describing this model */
  hfConfig: Record<string, unknown>;
}

/** A spec lowered, with the .rh files it loaded (absolute paths); `text`: the spec's source, given rather than read. */
export function lowerSpecWithFiles(specFile: string, overrides: readonly ConfigOverride[] = [], opts: { text?: string } = {}): { graph: Graph; specFiles: string[] } {
  const r = compileModel(specFile, { overrides, text: opts.text });
  if (!r.graph) throw new DiagnosticsError(r.diagnostics, r.sources);
  // The loader keys its sources by display path (relative to the working directory, or absolute).
  return { graph: r.graph, specFiles: [...r.sources.keys()].map((f) => path.resolve(f)) };
}

export function lowerSpec(specFile: string, overrides: readonly ConfigOverride[] = []): Graph {
  return lowerSpecWithFiles(specFile, overrides).graph;
}

/**
 * config.json values as overrides: only keys the spec declares are taken, as the JSON types
 * them (`exact`: "64" is not the int 64, and a string is only a `str` config's value, such as
 * activation_function). `file` names config.json in messages.
 */
export function overridesFromConfig(raw: Record<string, unknown>, file = 'config.json'): ConfigOverride[] {
  return Object.entries(raw)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string')
    .map(([name, value]) => ({ name, value: value as number | boolean | string, origin: file, strict: false, exact: true }));
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
    // the spec's configs, activation_function among them: the values this graph was lowered with
    ...graph.config,
    ...configKeysForSpec(specFile),
  };
}

export interface CheckpointOptions extends LoadOptions {
  /** use this spec instead of the one config.json selects (it must select the same) */
  spec?: string;
  /** the source of `spec`, given rather than read from it */
  specText?: string;
  overrides?: readonly ConfigOverride[];
}

const LAYOUT_KEYS = ['n_layer', 'vocab_size', 'n_embd', 'n_positions'] as const;

/** The dims of GPT-2's tensor layout as config.json and then --set ask for them (later overrides win, as in lowering). */
function layoutDims(raw: Record<string, unknown>, overrides: readonly ConfigOverride[], configFile: string): LayoutDims {
  const dims: LayoutDims = {};
  for (const key of LAYOUT_KEYS) {
    const set = [...overrides].reverse().find((o) => o.name === key);
    // Read as lowering reads an int config, so the check never sees a value lowering would refuse.
    const value = set ? (typeof set.value === 'number' ? set.value : intFromText(String(set.value))) : Object.hasOwn(raw, key) ? raw[key] : undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value)) dims[key] = { value, from: set ? `${set.origin} gives` : `${configFile} says` };
  }
  return dims;
}

/**
 * A checkpoint's graph without its weights: its spec lowered with its config.json (and
 * overrides). The dims are checked against the weight files' headers first, so a config that
 * does not describe its weights fails at once instead of lowering a graph of its size.
 */
export function graphForCheckpoint(dir: string, opts: CheckpointOptions = {}): { specFile: string; graph: Graph; raw: Record<string, unknown>; specFiles: string[]; inputs: string[] } {
  const cfg = readHfConfig(dir);
  const configFile = path.join(dir, 'config.json');
  const specFile = opts.spec ? path.resolve(opts.spec) : specForConfig(cfg.raw, dir);
  if (opts.spec) checkSpecMatchesConfig(specFile, cfg.raw, dir);
  checkDimsAgainstWeights(dir, layoutDims(cfg.raw, opts.overrides ?? [], configFile));
  const text = opts.spec !== undefined ? opts.specText : undefined;
  const { graph, specFiles } = lowerSpecWithFiles(specFile, [...overridesFromConfig(cfg.raw, configFile), ...(opts.overrides ?? [])], { text });
  const inputs = [...checkpointFiles(dir), ...specFiles];
  return { specFile, graph, raw: cfg.raw, specFiles, inputs };
}

/** Loads a checkpoint directory: graph and weights. */
export function loadModel(dir: string, opts: CheckpointOptions = {}): Model {
  const { specFile, graph, raw, specFiles, inputs } = graphForCheckpoint(dir, opts);
  const weights = loadWeights(dir, paramShapes(graph), { warn: opts.warn });
  const specText = opts.spec !== undefined ? opts.specText : undefined;
  return { specFile, ...(specText !== undefined ? { specText } : {}), specFiles, inputs, graph, weights, hfConfig: hfConfigFor(graph, specFile, raw) };
}

function fill(init: InitSpec, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  if (init.kind === 'ones') out.fill(1);
  else if (init.kind === 'normal') rng.fillNormal(out, 0, init.std);
  return out;
}

/** GPT-2's initialisation, as each parameter's declaration says; the same seed gives the same weights. */
export function initModel(specFile: string, opts: { seed?: number; overrides?: readonly ConfigOverride[]; text?: string } = {}): Model {
  const { graph, specFiles } = lowerSpecWithFiles(specFile, opts.overrides, { text: opts.text });
  const rng = new Rng(opts.seed ?? 0);
  const weights = new Map<string, Float32Array>();
  const params = graphParams(graph).map((p) => ({ p, shape: p.type.shape as number[], n: (p.type.shape as number[]).reduce((a, b) => a * b, 1) }));
  for (const { p, shape, n } of params) {
    // A typed array holds at most 2^32 - 1 elements here; say so rather than fail inside V8.
    if (n > MAX_TENSOR_ELEMENTS)
      throw new RhcError(`parameter '${p.attrs.name}' [${shape.join(', ')}] has ${n.toLocaleString('en-US')} elements, more than one tensor can hold (${MAX_TENSOR_ELEMENTS.toLocaleString('en-US')})`);
  }
  // Checked before the first allocation: a model bigger than the machine fails in a line, not in V8.
  const bytes = params.reduce((sum, { n }) => sum + 4 * n, 0);
  if (bytes > os.totalmem())
    throw new RhcError(`the model's ${(bytes / 4).toLocaleString('en-US')} parameters need ${formatBytes(bytes)} of float32 weights, more than this machine's ${formatBytes(os.totalmem())} of memory`);
  for (const { p, shape, n } of params) {
    let data: Float32Array;
    try {
      data = fill(p.attrs.init as InitSpec, n, rng);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new RhcError(`cannot allocate ${formatBytes(4 * n)} for parameter '${p.attrs.name}' [${shape.join(', ')}]: out of memory (the model needs ${formatBytes(bytes)} in all)`);
    }
    weights.set(p.attrs.name as string, data);
  }
  const specText = opts.text !== undefined ? { specText: opts.text } : {};
  return { specFile: path.resolve(specFile), ...specText, specFiles, inputs: specFiles, graph, weights, hfConfig: hfConfigFor(graph, specFile) };
}

const isBundled = (file: string) => file.startsWith(BUNDLED_SPEC_DIR + path.sep);

/**
 * The spec files a checkpoint carries so that it loads alone: a spec outside rhc's library is
 * copied under the name config.json's rhc_spec gives, with every non-bundled file it imports at
 * the same path relative to it. An import from outside the spec's directory cannot be placed so,
 * and is refused before anything is written.
 */
function travellingSpecFiles(model: Model): { from: string; rel: string; text?: string }[] {
  const own = model.hfConfig.rhc_spec;
  if (typeof own !== 'string' || !own.endsWith('.rh') || isBundled(model.specFile)) return [];
  const home = path.dirname(model.specFile);
  const out: { from: string; rel: string; text?: string }[] = [{ from: model.specFile, rel: own, ...(model.specText !== undefined ? { text: model.specText } : {}) }];
  for (const f of model.specFiles) {
    if (f === model.specFile || isBundled(f)) continue;
    const rel = path.relative(home, f);
    if (rel.startsWith('..') || path.isAbsolute(rel))
      throw new RhcError(`${model.specFile} imports ${f}, which is outside the spec's directory ${home}; a checkpoint carries its spec's files at their paths relative to the spec, so move the imported file beside the spec (or below it)`);
    out.push({ from: f, rel });
  }
  return out;
}

export interface SaveOptions {
  /** replace `dir` even when it holds files rhc did not write (they are deleted) */
  force?: boolean;
  /** writes more files into the directory being built (a training checkpoint's optimizer state), so they land with the weights or not at all */
  extra?: (tmpDir: string) => void;
}

/**
 * Writes the model as a checkpoint directory: config.json, model.safetensors and the spec files
 * that travel with it. The directory is built aside and swapped in under the output lock, so a
 * kill leaves the old checkpoint or the new one, never a new config over old weights. It never
 * replaces a directory holding one of the model's inputs, and (without `force`) only replaces
 * an empty directory or a checkpoint rhc wrote.
 */
export function saveModel(model: Model, dir: string, opts: SaveOptions = {}): void {
  const tensors = paramShapes(model.graph).map(({ name, shape }) => {
    const data = model.weights.get(name);
    if (!data) throw new RhcError(`no weights for parameter '${name}'`);
    return { name, shape, data };
  });
  const travelling = travellingSpecFiles(model);
  checkOutputNotInput(dir, model.inputs, '--out');
  const what = `checkpoint '${dir}'`;
  replaceDirAtomic(
    dir,
    (tmp) => {
      if (!opts.force) checkReplaceableCheckpoint(dir);
      writeCheckpointFiles(tmp, model.hfConfig, tensors, dir);
      writingFiles(what, () => {
        for (const { from, rel, text } of travelling) {
          fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
          // A spec given as text is saved as given: a file at its path may hold something else.
          if (text !== undefined) fs.writeFileSync(path.join(tmp, rel), text);
          else fs.copyFileSync(from, path.join(tmp, rel));
        }
      });
      opts.extra?.(tmp);
    },
    what,
  );
}
