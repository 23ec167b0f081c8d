// The browser example: fetch a compiled WebGPU artifact and a safetensors checkpoint from this
// page's origin, run the forward pass on WebGPU, and show the most likely next tokens.
// The result is also left on `window.rhcResult`, where test/examples/browser.test.ts reads it.

import { acquireDevice } from '../../src/runtime/webgpu/device.ts';
import { fetchFiles } from '../../src/runtime/webgpu/artifact-files.ts';
import { idBatch, loadArtifactModel } from '../../src/runtime/webgpu/artifact-model.ts';
import { VOCAB_SIZE, decode, encode } from '../../src/io/tokenizer.ts';

export type ExampleResult =
  | { ok: true; adapter: string; spec: string; ids: number[]; shape: [number, number, number]; logits: number[]; loadMs: number; forwardMs: number }
  | { ok: false; error: string };

declare global {
  interface Window {
    rhcResult?: ExampleResult;
  }
}

const query = new URLSearchParams(location.search);
const artifactUrl = query.get('artifact') ?? './artifact/';
const checkpointUrl = query.get('checkpoint') ?? './checkpoint/';
// ids for any vocabulary; text (GPT-2's BPE) only for models with GPT-2's vocabulary.
const text = query.get('ids') ? undefined : (query.get('text') ?? 'Hello world, this is');
const idsText = query.get('ids') ?? encode(text!).join(',');

const $ = (id: string) => document.getElementById(id)!;

function show(state: 'ok' | 'error', text: string): void {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

async function run(): Promise<ExampleResult> {
  const ids = idsText.split(',').map((s) => Number(s.trim()));
  const t0 = performance.now();
  const ctx = await acquireDevice();
  try {
    const { model, manifest } = await loadArtifactModel(ctx, fetchFiles(artifactUrl), fetchFiles(checkpointUrl));
    const vocab = manifest.config.vocab_size as number;
    if (text !== undefined && vocab !== VOCAB_SIZE) throw new Error(`this model's vocabulary has ${vocab} tokens, not GPT-2's ${VOCAB_SIZE}: give ?ids=... instead of text`);
    const batch = idBatch(ids, vocab, manifest.config.n_positions as number);
    const t1 = performance.now();
    const logits = await model.forward(batch.ids, batch.batch, batch.seq);
    const t2 = performance.now();
    model.destroy();
    showTop(logits.subarray((batch.seq - 1) * vocab, batch.seq * vocab), vocab === VOCAB_SIZE);
    show('ok', `${manifest.spec} (${manifest.model}) on ${ctx.describe()}: loaded in ${(t1 - t0).toFixed(0)} ms, forward of ${batch.seq} tokens in ${(t2 - t1).toFixed(0)} ms`);
    return { ok: true, adapter: ctx.describe(), spec: manifest.spec, ids, shape: [1, batch.seq, vocab], logits: Array.from(logits), loadMs: t1 - t0, forwardMs: t2 - t1 };
  } finally {
    ctx.destroy();
  }
}

/** The ten largest logits of the last position, with their text when the vocabulary is GPT-2's. */
function showTop(last: Float32Array, gpt2Vocab: boolean): void {
  const order = Array.from(last.keys()).sort((a, b) => last[b] - last[a]).slice(0, 10);
  $('top').replaceChildren(
    ...order.map((id) => {
      const row = document.createElement('tr');
      const cells = [String(id), gpt2Vocab ? JSON.stringify(decode([id])) : '', last[id].toFixed(4)];
      for (const cell of cells) row.appendChild(document.createElement('td')).textContent = cell;
      return row;
    }),
  );
}

$('artifact').textContent = artifactUrl;
$('checkpoint').textContent = checkpointUrl;
$('ids').textContent = text === undefined ? idsText : `${idsText} (${JSON.stringify(text)})`;
run().then(
  (result) => (window.rhcResult = result),
  (e: unknown) => {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    show('error', error);
    window.rhcResult = { ok: false, error };
  },
);
