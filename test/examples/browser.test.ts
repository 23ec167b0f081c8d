// examples/browser end to end: a tiny GP+norm model is compiled (with its typed module) and
// initialised here, the page is built with vite and served over http://localhost, headless
// Chromium (Debian's, WebGPU on SwiftShader) runs it, and its logits must match those of the
// generated class run by Dawn in Node. With CI set, a missing Chromium or adapter fails.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact, writeArtifact } from '../../backends/webgpu/artifact.ts';
import { buildPage, serveExample } from '../../examples/browser/serve.ts';
import type { ExampleResult } from '../../examples/browser/main.ts';
import { initModel, saveModel } from '../../src/model/model.ts';
import { acquireDevice, type GpuContext } from '../../src/runtime/webgpu/device.ts';
import { nodeFiles } from '../../src/runtime/webgpu/node-files.ts';
import { CHROMIUM, chromiumRunnable, openChromiumTab, type ChromiumTab } from '../helpers/chromium.ts';
import { ROOT } from '../helpers/rh.ts';

const DIMS = { n_layer: 2, n_embd: 32, n_head: 4, vocab_size: 96, n_positions: 16 };
const IDS = [5, 17, 3, 95, 40, 0];

// Locally a machine without Chromium skips; CI must run it.
describe.runIf(chromiumRunnable)('examples/browser', () => {
  // Inside rhc's tree (tmp/ is git-ignored): the generated model.ts imports 'rhc/webgpu', which only
  // resolves where rhc is the package (here, to its sources: vitest.config.ts).
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const work = fs.mkdtempSync(path.join(ROOT, 'tmp', 'browser-test-'));
  const artifactDir = path.join(work, 'artifact');
  const checkpointDir = path.join(work, 'checkpoint');
  let ctx: GpuContext;
  let page: string;
  let nodeLogits: Float32Array;

  beforeAll(async () => {
    const overrides = Object.entries(DIMS).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
    const specFile = path.join(ROOT, 'spec/gp-norm.rh');
    const model = initModel(specFile, { seed: 3, overrides });
    saveModel(model, checkpointDir);
    writeArtifact(artifactDir, buildArtifact(model.graph, { specFile }));
    page = await buildPage(fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-page-')));

    // The Node side goes through the generated class, so the typed module is exercised too.
    ctx = await acquireDevice();
    const { GpNormModel } = await import(path.join(artifactDir, 'model.ts'));
    const m = await GpNormModel.load(ctx, nodeFiles(artifactDir), nodeFiles(checkpointDir));
    nodeLogits = await m.forward(IDS);
    m.destroy();
  });

  afterAll(() => {
    ctx?.destroy();
    fs.rmSync(work, { recursive: true, force: true });
    if (page) fs.rmSync(page, { recursive: true, force: true });
  });

  it('computes the same logits in Chromium as in Node', async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: bash scripts/install-system-deps.sh installs it`).toBe(true);
    const server = await serveExample({ page, artifact: artifactDir, checkpoint: checkpointDir });
    let chrome: ChromiumTab | undefined;
    try {
      chrome = await openChromiumTab();
      const { tab, messages: console } = chrome;
      await tab.goto(`${server.url}?ids=${IDS.join(',')}`);
      await tab.waitForFunction(() => window.rhcResult !== undefined, undefined, { timeout: 90_000 });
      const result = (await tab.evaluate(() => window.rhcResult)) as ExampleResult;
      if (!result.ok) expect.fail(`the page failed: ${result.error}\nconsole:\n${console.join('\n')}`);
      expect(result.shape).toEqual([1, IDS.length, DIMS.vocab_size]);
      expect(new Set(nodeLogits).size).toBeGreaterThan(nodeLogits.length / 2); // real logits, not a constant
      expect(result.logits.length).toBe(nodeLogits.length);
      let worst = 0;
      result.logits.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - nodeLogits[i]))));
      expect(worst).toBeLessThanOrEqual(1e-4);
      expect(await tab.locator('#top tr').count()).toBe(10);
    } finally {
      await chrome?.close();
      await server.close();
    }
  });
});
