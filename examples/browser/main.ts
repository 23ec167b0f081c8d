// The browser demo: fetch a compiled WebGPU artifact and a safetensors checkpoint from this
// page's origin, then generate from a prompt on WebGPU, token by token, showing the model's
// probabilities for each token as it is drawn, and picture the loaded model's per-head rotation
// frequencies (computed from its spec, served at ./spec/, with the checkpoint's own tensors).
// On load the prompt's forward pass runs once; its logits are left on `window.rhcResult`, and the
// demo's state on `window.rhcDemo`, where test/examples/browser*.test.ts read them.
// Every rhc import of the page is here. The runtime comes through the package, as a user's page
// imports it ('rhc/webgpu'; serve.ts's vite config resolves it to the sources here). The frequency
// picture also lowers the served spec in the page: rhc's front end is no part of rhc/webgpu (its
// parser reaches chevrotain through src/dsl/chevrotain.ts, which reads Node's file system, and
// would weigh on every page bundling the runtime), so the demo imports those modules by path.

import {
  EOT_TOKEN,
  TokenStreamDecoder,
  VOCAB_SIZE,
  acquireDevice,
  decode,
  encode,
  fetchFiles,
  generateTokens,
  idBatch,
  loadArtifactModel,
  openSafetensors,
  type ArtifactFiles,
  type ArtifactManifest,
  type Decoder,
  type SafetensorsFile,
  type WebGpuModel,
} from 'rhc/webgpu';
import { compileModelFromSources } from '../../src/dsl/compile-sources.ts';
import { renderDiagnostic } from '../../src/dsl/diagnostics.ts';
import { rotationFrequencies, type FrequencyValue } from '../../src/model/frequencies.ts';
import { probabilityRows, topProbabilities, type TokenProbability } from './next-tokens.ts';
import { frequencyPicture } from './frequency-picture.ts';

export type ExampleResult =
  | { ok: true; adapter: string; spec: string; ids: number[]; shape: [number, number, number]; logits: number[]; loadMs: number; forwardMs: number }
  | { ok: false; error: string };

export type DemoState = 'loading' | 'ready' | 'generating' | 'done' | 'error';

export interface DemoSnapshot {
  state: DemoState;
  /** the prompt of the last generation */
  prompt: number[];
  /** the tokens generated so far */
  tokens: number[];
  /** for each token, the most likely tokens of the distribution it was drawn from */
  steps: TokenProbability[][];
  frequencies?: Frequencies | { error: string };
}

export interface Frequencies {
  layers: number;
  heads: number;
  pairs: number;
  values: FrequencyValue[];
}

declare global {
  interface Window {
    rhcResult?: ExampleResult;
    rhcDemo?: DemoSnapshot;
  }
}

const TOP_K_SHOWN = 10;
const query = new URLSearchParams(location.search);
const artifactUrl = query.get('artifact') ?? './artifact/';
const checkpointUrl = query.get('checkpoint') ?? './checkpoint/';
const specUrl = query.get('spec') ?? './spec/';
// Token ids work with any vocabulary; text (GPT-2's BPE) only with GPT-2's.
const idsMode = query.has('ids');

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const demo: DemoSnapshot = (window.rhcDemo = { state: 'loading', prompt: [], tokens: [], steps: [] });

function status(state: DemoState, text: string): void {
  demo.state = state;
  $('status').dataset.state = state;
  $('status').textContent = text;
}

// rhc's own errors are written for people; others (a GpuError, a TypeError) keep their name.
const errorText = (e: unknown) => (e instanceof Error ? `${e.name === 'Error' || e.name === 'RhcError' ? '' : `${e.name}: `}${e.message}` : String(e));
const tokenLabel = (id: number) => (idsMode ? String(id) : JSON.stringify(decode([id])));

function promptIds(): number[] {
  const text = $<HTMLTextAreaElement>('prompt').value;
  if (!idsMode) return encode(text);
  return text.split(',').filter((s) => s.trim() !== '').map((s) => Number(s.trim()));
}

function showTop(top: readonly TokenProbability[], caption: string, chosen?: number): void {
  $('top').replaceChildren(...probabilityRows(top, tokenLabel, chosen));
  $('top-caption').textContent = caption;
}

/** The checkpoint's files with model.safetensors opened once: the loader and the frequency picture read the same copy. */
function openedOnce(files: ArtifactFiles): ArtifactFiles & { safetensors(path: string): Promise<SafetensorsFile> } {
  const opened = new Map<string, Promise<SafetensorsFile>>();
  return {
    ...files,
    safetensors: (path) => {
      if (!opened.has(path)) opened.set(path, openSafetensors(files, path));
      return opened.get(path)!;
    },
  };
}

/** The loaded model's frequencies: its spec (fetched from ./spec/) lowered at the artifact's config, with the checkpoint's tensors. */
async function loadFrequencies(manifest: ArtifactManifest, weights: SafetensorsFile): Promise<Frequencies> {
  const specFiles = fetchFiles(specUrl);
  const overrides = Object.entries(manifest.config).map(([name, value]) => ({ name, value, origin: 'manifest.json', strict: false, exact: true }));
  const r = await compileModelFromSources(`${manifest.spec}.rh`, (name, maxBytes) => specFiles.text(name, maxBytes), { overrides, model: manifest.model });
  if (!r.graph) throw new Error(`the spec at ${specFiles.location} does not lower:\n${r.diagnostics.map((d) => renderDiagnostic(d, r.sources)).join('\n')}`);
  // The served spec must be the one the artifact was compiled from: the same tensors, the same shapes.
  const shapes = new Map(manifest.parameters.map((p) => [p.name, p.shape.join(',')]));
  const params = r.graph.nodes.filter((n) => n.op === 'param');
  const odd = params.find((n) => shapes.get(n.attrs.name as string) !== n.type.shape.join(','));
  if (odd || params.length !== shapes.size)
    throw new Error(`the spec at ${specFiles.location}${manifest.spec}.rh is not the one the artifact was compiled from (${odd ? `tensor '${String(odd.attrs.name)}'` : 'its tensors'} differ)`);
  const cfg = r.graph.config;
  const values = rotationFrequencies(r.graph, (name) => (weights.has(name) ? weights.get(name).toFloat32() : undefined), `${manifest.spec}.rh`);
  const heads = cfg.n_head as number;
  return { layers: cfg.n_layer as number, heads, pairs: (cfg.n_embd as number) / heads / 2, values };
}

interface Session {
  model: WebGpuModel;
  manifest: ArtifactManifest;
  adapter: string;
  decoder?: Decoder;
}

async function load(): Promise<Session> {
  const t0 = performance.now();
  status('loading', 'requesting a WebGPU adapter…');
  const ctx = await acquireDevice();
  const adapter = ctx.describe();
  status('loading', `loading the artifact and the checkpoint on ${adapter}…`);
  const checkpoint = openedOnce(fetchFiles(checkpointUrl));
  const { model, manifest } = await loadArtifactModel(ctx, fetchFiles(artifactUrl), checkpoint);
  const vocab = manifest.config.vocab_size as number;
  if (!idsMode && vocab !== VOCAB_SIZE) throw new Error(`this model's vocabulary has ${vocab} tokens, not GPT-2's ${VOCAB_SIZE}: give ?ids=1,2,3 instead of text`);
  const t1 = performance.now();

  // The prompt's forward pass: every position's logits (window.rhcResult), the last one's probabilities shown.
  const ids = promptIds();
  const batch = idBatch(ids, vocab, model.capacity);
  const logits = await model.forward(batch.ids, batch.batch, batch.seq);
  const t2 = performance.now();
  showTop(topProbabilities(logits.subarray((batch.seq - 1) * vocab), TOP_K_SHOWN), `after the prompt (${batch.seq} tokens)`);
  window.rhcResult = { ok: true, adapter, spec: manifest.spec, ids, shape: [1, batch.seq, vocab], logits: Array.from(logits), loadMs: t1 - t0, forwardMs: t2 - t1 };

  try {
    const frequencies = await loadFrequencies(manifest, await checkpoint.safetensors('model.safetensors'));
    demo.frequencies = frequencies;
    const { values, layers, heads, pairs } = frequencies;
    $('frequencies').replaceChildren(frequencyPicture(values, layers, heads, pairs));
  } catch (e) {
    demo.frequencies = { error: errorText(e) };
    $('frequencies').textContent = `no frequency picture: ${errorText(e)}`;
  }
  status('ready', `ready: ${manifest.spec} (${manifest.model}, ${manifest.config.n_layer} layers, ${manifest.config.n_head} heads) on ${adapter}; loaded in ${(t1 - t0).toFixed(0)} ms, the prompt's forward pass in ${(t2 - t1).toFixed(0)} ms`);
  return { model, manifest, adapter };
}

let stopRequested = false;

async function generate(session: Session): Promise<void> {
  const prompt = promptIds();
  if (prompt.length === 0) throw new Error('the prompt is empty: type something to continue');
  const vocab = session.manifest.config.vocab_size as number;
  idBatch(prompt, vocab, session.model.capacity); // rejects ids outside the vocabulary, or more than the model holds
  const maxNewTokens = Number($<HTMLInputElement>('max-tokens').value);
  const temperature = Number($<HTMLInputElement>('temperature').value);
  const topK = Number($<HTMLInputElement>('top-k').value);
  const seed = Number($<HTMLInputElement>('seed').value);
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 1)) throw new Error('tokens to generate must be a whole number, at least 1');
  if (!(temperature >= 0)) throw new Error('the temperature must be 0 (greedy) or more');

  const inner = (session.decoder ??= session.model.decoder());
  // The logits each token is drawn from, seen on their way to the sampler.
  let drawnFrom: Float32Array = new Float32Array(0);
  const decoder: Decoder = {
    get length() {
      return inner.length;
    },
    capacity: inner.capacity,
    append: async (ids) => (drawnFrom = await inner.append(ids)),
    reset: () => inner.reset(),
    dispose: () => inner.dispose(),
  };
  Object.assign(demo, { prompt, tokens: [], steps: [] });
  const text = new TokenStreamDecoder();
  $('output-prompt').textContent = idsMode ? prompt.join(' ') : decode(prompt);
  const generated = $('generated');
  generated.textContent = '';
  stopRequested = false;
  const t0 = performance.now();
  let firstAt = t0;
  const rate = () => (demo.tokens.length > 1 ? ((demo.tokens.length - 1) / ((performance.now() - firstAt) / 1000)).toFixed(1) : '–');
  status('generating', `generating: the prompt's ${prompt.length} tokens…`);
  const stopToken = vocab === VOCAB_SIZE && !idsMode ? EOT_TOKEN : undefined;
  for await (const id of generateTokens(decoder, prompt, { maxNewTokens, seed, temperature, topK, stopToken })) {
    if (demo.tokens.length === 0) firstAt = performance.now();
    const top = topProbabilities(drawnFrom, TOP_K_SHOWN);
    demo.tokens.push(id);
    demo.steps.push(top);
    generated.textContent += idsMode ? ` ${id}` : text.push(id);
    generated.dataset.tokens = String(demo.tokens.length);
    showTop(top, `token ${demo.tokens.length} was drawn from`, id);
    status('generating', `generating: ${demo.tokens.length}/${maxNewTokens} tokens, ${rate()} tokens/s`);
    if (stopRequested) break;
  }
  const n = demo.tokens.length;
  const why = stopRequested ? ' (stopped)' : demo.tokens[n - 1] === stopToken ? ' (end of text)' : n < maxNewTokens ? ` (the model holds ${inner.capacity} positions)` : '';
  const seconds = ((performance.now() - t0) / 1000).toFixed(2);
  status('done', `done: ${n} tokens in ${seconds} s${why}: the prompt's ${prompt.length} tokens in ${(firstAt - t0).toFixed(0)} ms, then ${rate()} tokens/s on ${session.adapter}`);
}

function wire(session: Session): void {
  const button = $<HTMLButtonElement>('generate');
  const stop = $<HTMLButtonElement>('stop');
  button.disabled = false;
  button.onclick = () => {
    button.disabled = true;
    stop.disabled = false;
    generate(session)
      .catch((e: unknown) => status('error', errorText(e)))
      .finally(() => {
        button.disabled = false;
        stop.disabled = true;
      });
  };
  stop.onclick = () => (stopRequested = true);
}

$('artifact').textContent = artifactUrl;
$('checkpoint').textContent = checkpointUrl;
$('spec').textContent = specUrl;
if (idsMode) {
  $('prompt-label').textContent = 'Prompt (token ids, comma-separated)';
  $<HTMLTextAreaElement>('prompt').value = query.get('ids') ?? '';
} else if (query.has('text')) {
  $<HTMLTextAreaElement>('prompt').value = query.get('text')!;
}
load().then(wire, (e: unknown) => {
  const error = errorText(e);
  status('error', error);
  window.rhcResult = { ok: false, error };
});
