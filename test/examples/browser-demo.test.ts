// examples/browser as a person uses it: headless Chromium (Debian's, WebGPU on SwiftShader)
// loads the demo with a tiny LR+norm model of GPT-2's vocabulary, a prompt is typed and
// Generate clicked, and then, against expectations computed here: the tokens streamed one by
// one are those of greedy generation on the reference interpreter; the next-token table holds
// the softmax of the reference's logits; the frequency picture holds n_layer x n_head rows whose
// values are each head's learned frequencies through its layer's LayerNorm, computed here from
// the tensors (set so that every head's row differs: a head drawn in another's row fails);
// and a full-page screenshot shows the status, the generated text and the picture (each region
// is inside it, apart from the others, and not one flat colour). With CI set, a missing
// Chromium or adapter fails.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact, writeArtifact } from '../../backends/webgpu/artifact.ts';
import { buildPage, serveExample } from '../../examples/browser/serve.ts';
import type { DemoSnapshot } from '../../examples/browser/main.ts';
import { initModel, saveModel } from '../../src/model/model.ts';
import { encode, EOT_TOKEN, TokenStreamDecoder } from '../../src/io/tokenizer.ts';
import type { Decoder } from '../../src/runtime/decoder.ts';
import { generateTokens } from '../../src/runtime/generate.ts';
import { referenceDecoder } from '../../src/runtime/reference/decoder.ts';
import { CHROMIUM, chromiumRunnable, openChromiumTab, type ChromiumTab } from '../helpers/chromium.ts';
import { ROOT } from '../helpers/rh.ts';

// GPT-2's vocabulary (text prompts need it); everything else tiny, for SwiftShader.
const DIMS = { n_layer: 3, n_embd: 64, n_head: 4, vocab_size: 50257, n_positions: 64 };
const HALF = DIMS.n_embd / DIMS.n_head / 2;
const PROMPT = 'The rotating heads';
const NEW_TOKENS = 12;
/** LR's learned frequencies f[l][h][i], of a different shape in every head (a LayerNorm undoes a mere scale) */
const FREQUENCY = (l: number, h: number, i: number) => Math.sin(0.7 * (h + 1) * i + l) + 0.2 * i;
/** each layer's rope LayerNorm, not the identity */
const NORM_WEIGHT = (l: number, i: number) => 0.6 + 0.3 * l - 0.05 * i;
const NORM_BIAS = (l: number, i: number) => 0.1 * (l - 1) + 0.02 * i;

/** softmax in f64 */
function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = Float64Array.from(logits, (v) => Math.exp(v - max));
  const total = out.reduce((a, b) => a + b, 0);
  return out.map((p) => p / total);
}

/** LR+norm's frequencies (SEMANTICS.md): a head's learned row f through the layer's LayerNorm (eps 1e-5), in f64. */
function expectedFrequencies(f: Float32Array, weight: Float32Array, bias: Float32Array): number[] {
  const mean = f.reduce((a, b) => a + b, 0) / HALF;
  const variance = f.reduce((a, x) => a + (x - mean) ** 2, 0) / HALF;
  return Array.from(f, (x, i) => ((x - mean) / Math.sqrt(variance + 1e-5)) * weight[i] + bias[i]);
}

interface Region { name: string; x: number; y: number; width: number; height: number }

/** Pixel statistics of regions of a PNG, decoded by Chromium's own image decoder in a blank tab. */
async function regionColours(tab: Page, png: Buffer, regions: Region[]): Promise<{ width: number; height: number; regions: { name: string; colours: number; dominantShare: number }[] }> {
  return tab.evaluate(
    async ({ base64, regions }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(bitmap, 0, 0);
      return {
        width: bitmap.width,
        height: bitmap.height,
        regions: regions.map((r) => {
          const data = ctx.getImageData(Math.floor(r.x), Math.floor(r.y), Math.max(1, Math.floor(r.width)), Math.max(1, Math.floor(r.height))).data;
          const counts = new Map<number, number>();
          for (let i = 0; i < data.length; i += 4) {
            const key = ((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]) >>> 0;
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          return { name: r.name, colours: counts.size, dominantShare: Math.max(...counts.values()) / (data.length / 4) };
        }),
      };
    },
    { base64: png.toString('base64'), regions },
  );
}

describe.runIf(chromiumRunnable)('examples/browser: the demo', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-browser-demo-'));
  const artifactDir = path.join(work, 'artifact');
  const checkpointDir = path.join(work, 'checkpoint');
  // Kept after the test (and replaced by the next run), so a person can look at what the page showed.
  const shotDir = path.join(os.tmpdir(), 'rhc-browser-demo');
  let page: string;
  let rope: { frequencies: Float32Array; weight: Float32Array; bias: Float32Array }[];
  let want: { tokens: number[]; logits: Float32Array[]; text: string };

  beforeAll(async () => {
    const overrides = Object.entries(DIMS).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
    const specFile = path.join(ROOT, 'spec/lr-norm.rh');
    const model = initModel(specFile, { seed: 3, overrides });
    // At GPT-2's initialisation a tiny model repeats its last token with probabilities near
    // 1/50257; larger block weights and ln_f's gain make its text vary and its probabilities
    // reach 0.05-0.9, so the 1e-4 comparison below is not met by any near-uniform table.
    for (const [name, w] of model.weights) {
      if (/\.(c_attn|c_proj|c_fc)\.weight$/.test(name)) w.forEach((v, i) => (w[i] = v * 20));
      if (name === 'transformer.ln_f.weight') w.fill(25);
    }
    rope = Array.from({ length: DIMS.n_layer }, (_, l) => {
      const frequencies = Float32Array.from({ length: DIMS.n_head * HALF }, (_, k) => FREQUENCY(l, Math.floor(k / HALF), k % HALF));
      const weight = Float32Array.from({ length: HALF }, (_, i) => NORM_WEIGHT(l, i));
      const bias = Float32Array.from({ length: HALF }, (_, i) => NORM_BIAS(l, i));
      model.weights.set(`transformer.h.${l}.attn.rope.frequencies`, frequencies);
      model.weights.set(`transformer.h.${l}.attn.rope.layer_norm.weight`, weight);
      model.weights.set(`transformer.h.${l}.attn.rope.layer_norm.bias`, bias);
      return { frequencies, weight, bias };
    });
    saveModel(model, checkpointDir);
    writeArtifact(artifactDir, buildArtifact(model.graph, { specFile }));
    page = await buildPage(path.join(work, 'page'));

    // The independent side: greedy generation on the reference interpreter, with each token's logits.
    const inner = referenceDecoder(model.graph, model.weights);
    const logits: Float32Array[] = [];
    const decoder: Decoder = {
      capacity: inner.capacity,
      get length() {
        return inner.length;
      },
      append: async (ids) => {
        const l = await inner.append(ids);
        logits.push(l);
        return l;
      },
      reset: () => inner.reset(),
      dispose: () => inner.dispose(),
    };
    const tokens: number[] = [];
    for await (const id of generateTokens(decoder, encode(PROMPT), { maxNewTokens: NEW_TOKENS, seed: 0, temperature: 0, stopToken: EOT_TOKEN })) tokens.push(id);
    const stream = new TokenStreamDecoder();
    want = { tokens, logits: logits.slice(0, tokens.length), text: tokens.map((id) => stream.push(id)).join('') };
  });

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('streams greedy tokens, shows their probabilities and the model\'s frequencies, and a screenshot shows them', { timeout: 300_000 }, async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: bash scripts/install-system-deps.sh installs it`).toBe(true);
    expect(want.tokens.length).toBe(NEW_TOKENS);
    expect(new Set(want.tokens).size).toBeGreaterThan(NEW_TOKENS / 2); // the text varies
    const server = await serveExample({ page, artifact: artifactDir, checkpoint: checkpointDir });
    let chrome: ChromiumTab | undefined;
    try {
      chrome = await openChromiumTab({ width: 1100, height: 900 });
      const { tab, messages: console } = chrome;
      const snapshot = async () => (await tab.evaluate(() => window.rhcDemo)) as DemoSnapshot;
      const failed = async (what: string) => expect.fail(`${what}: ${await tab.locator('#status').textContent()}\nconsole:\n${console.join('\n')}`);

      await tab.goto(server.url);
      await tab.waitForFunction(() => ['ready', 'error'].includes(window.rhcDemo?.state ?? ''), undefined, { timeout: 120_000 });
      if ((await snapshot()).state !== 'ready') await failed('the page did not load');

      // Every token must reach the page on its own: record the token count each time the output changes.
      await tab.evaluate(() => {
        const out = document.getElementById('generated')!;
        const seen: string[] = ((window as unknown as { seenCounts: string[] }).seenCounts = []);
        new MutationObserver(() => seen.push(out.dataset.tokens ?? '')).observe(out, { childList: true, characterData: true, subtree: true, attributes: true });
      });
      await tab.fill('#prompt', PROMPT);
      await tab.fill('#max-tokens', String(NEW_TOKENS));
      await tab.fill('#temperature', '0');
      await tab.click('#generate');
      await tab.waitForFunction(() => ['done', 'error'].includes(window.rhcDemo?.state ?? ''), undefined, { timeout: 120_000 });
      const demo = await snapshot();
      if (demo.state !== 'done') await failed('generation failed');

      // Status, tokens and text.
      expect(await tab.locator('#status').getAttribute('data-state')).toBe('done');
      expect(await tab.locator('#status').textContent()).toMatch(/^done: 12 tokens in [\d.]+ s: .* tokens\/s on /);
      expect(demo.prompt).toEqual(encode(PROMPT));
      expect(demo.tokens).toEqual(want.tokens);
      const generated = await tab.locator('#generated').textContent();
      expect(generated).not.toBe('');
      expect(generated).toBe(want.text);
      const seen = new Set(await tab.evaluate(() => (window as unknown as { seenCounts: string[] }).seenCounts));
      for (let n = 1; n <= NEW_TOKENS; n++) expect(seen.has(String(n)), `the output never showed ${n} tokens on their own`).toBe(true);

      // Each step's top tokens are the reference's most likely ones, with its probabilities.
      expect(demo.steps.length).toBe(NEW_TOKENS);
      let largest = 0;
      demo.steps.forEach((top, s) => {
        const p = softmax(want.logits[s]);
        const tenth = [...p].sort((a, b) => b - a)[top.length - 1];
        expect(top.length).toBe(10);
        expect(top[0].id).toBe(want.tokens[s]);
        for (const { id, probability } of top) expect(Math.abs(probability - p[id]), `step ${s}, token ${id}`).toBeLessThanOrEqual(1e-4);
        expect(top.at(-1)!.probability).toBeGreaterThanOrEqual(tenth - 1e-4); // no more likely token left out
        largest = Math.max(largest, top[0].probability);
      });
      expect(largest).toBeGreaterThan(0.05);
      // The table on screen is the last step's.
      const rows = await tab.locator('#top tr').evaluateAll((trs) => trs.map((tr) => ({ id: Number((tr as HTMLElement).dataset.id), probability: Number((tr as HTMLElement).dataset.probability), shown: tr.children[2].textContent, chosen: tr.className === 'chosen' })));
      const last = softmax(want.logits[NEW_TOKENS - 1]);
      expect(rows.length).toBe(10);
      for (const r of rows) {
        expect(Math.abs(r.probability - last[r.id])).toBeLessThanOrEqual(1e-4);
        expect(r.shown).toBe(r.probability.toFixed(4));
      }
      expect(rows.filter((r) => r.chosen).map((r) => r.id)).toEqual([want.tokens.at(-1)]);

      // The frequency picture: a row per (layer, head), holding the values computed here.
      const heads = await tab.locator('#frequencies g.head').evaluateAll((gs) => gs.map((g) => ({ layer: Number(g.getAttribute('data-layer')), head: Number(g.getAttribute('data-head')), values: g.getAttribute('data-frequencies')!.split(',').map(Number), cells: g.querySelectorAll('rect').length })));
      expect(heads.length).toBe(DIMS.n_layer * DIMS.n_head);
      let worst = 0;
      for (let l = 0; l < DIMS.n_layer; l++)
        for (let h = 0; h < DIMS.n_head; h++) {
          const row = heads.find((r) => r.layer === l && r.head === h);
          expect(row, `layer ${l} head ${h}`).toBeDefined();
          expect(row!.cells).toBe(HALF);
          const learned = rope[l].frequencies.subarray(h * HALF, (h + 1) * HALF);
          expectedFrequencies(learned, rope[l].weight, rope[l].bias).forEach((f, i) => (worst = Math.max(worst, Math.abs(row!.values[i] - f))));
          if (h > 0) expect(Math.max(...row!.values.map((v, i) => Math.abs(v - heads.find((r) => r.layer === l && r.head === h - 1)!.values[i])))).toBeGreaterThan(0.05);
        }
      expect(worst).toBeLessThanOrEqual(1e-6);

      // The screenshot, and in it the regions the demo must show.
      const regions: Region[] = await tab.evaluate(() => {
        window.scrollTo(0, 0);
        const box = (name: string, selector: string) => {
          const r = document.querySelector(selector)!.getBoundingClientRect();
          return { name, x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
        };
        return [box('status', '#status'), box('generated text', '#output'), box('next tokens', '#next-tokens'), box('frequency picture', '#frequencies svg')];
      });
      fs.mkdirSync(shotDir, { recursive: true });
      const shotFile = path.join(shotDir, 'demo.png');
      const png = await tab.screenshot({ path: shotFile, fullPage: true });
      process.stdout.write(`browser demo screenshot: ${shotFile}\n`);
      for (const r of regions) expect(r.width * r.height, `${r.name} has no area`).toBeGreaterThan(100);
      for (const [i, a] of regions.entries())
        for (const b of regions.slice(i + 1)) {
          const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
          expect(apart, `${a.name} overlaps ${b.name}`).toBe(true);
        }
      const stats = await regionColours(await chrome.browser.newPage(), png, regions);
      for (const r of regions) {
        expect(r.x + r.width, `${r.name} is outside the screenshot`).toBeLessThanOrEqual(stats.width + 0.5);
        expect(r.y + r.height, `${r.name} is outside the screenshot`).toBeLessThanOrEqual(stats.height + 0.5);
      }
      for (const s of stats.regions) {
        expect(s.colours, `${s.name} is one flat colour in the screenshot`).toBeGreaterThan(1);
        expect(s.dominantShare, `${s.name} is almost all background`).toBeLessThan(0.995);
      }
      // The heat map is drawn in many colours, not a few.
      expect(stats.regions.find((s) => s.name === 'frequency picture')!.colours).toBeGreaterThanOrEqual(DIMS.n_layer * DIMS.n_head);
    } finally {
      await chrome?.close();
      await server.close();
    }
  });
});
