// Runs page tasks in headless Chromium: builds bench/browser with vite, serves it with the
// bench's work directory (/work/) and onnxruntime-web's dist/ (/ort/) from one localhost origin
// (WebGPU needs a secure context), and calls window.benchRun once per task, in order.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { PageResult, PageTask } from './page.ts';
import { ROOT } from '../models.ts';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.wgsl': 'text/plain', '.md': 'text/plain', '.ts': 'text/plain' };
/** One task may take long on SwiftShader (GPT-2 small on onnxruntime-web), never forever. */
const TASK_TIMEOUT_MS = 40 * 60_000;

async function buildPage(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({ root: import.meta.dirname, configFile: false, logLevel: 'warn', base: './', build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false } });
}

async function serve(mounts: [string, string][]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const [prefix, root] = mounts.find(([p]) => urlPath.startsWith(p))!;
    const file = path.resolve(root, `.${urlPath.slice(prefix.length - 1)}`, urlPath.endsWith('/') ? 'index.html' : '');
    if (path.relative(root, file).startsWith('..') || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    // Cross-origin isolation lets onnxruntime-web use its threaded wasm, as a tuned site would.
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': fs.statSync(file).size,
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cache-control': 'no-store',
    });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return { url: `http://localhost:${(server.address() as AddressInfo).port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

export interface ChromiumRun {
  userAgent: string;
  results: PageResult[];
}

/** Runs `tasks` (their `base` relative to the work directory, e.g. 'tiny/') in one Chromium. */
export async function runInChromium(work: string, tasks: PageTask[], onDone: (i: number, r: PageResult) => void): Promise<ChromiumRun> {
  const { chromium } = await import('playwright-core');
  const page = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-bench-page-'));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-bench-chromium-'));
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    await buildPage(page);
    server = await serve([
      ['/work/', path.resolve(work)],
      ['/ort/', path.join(ROOT, 'node_modules/onnxruntime-web/dist')],
      ['/', page],
    ]);
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
    const tab = await browser.newPage();
    const log: string[] = [];
    tab.on('pageerror', (e) => log.push(e.message));
    await tab.goto(server.url);
    await tab.waitForFunction(() => window.benchReady === true, undefined, { timeout: 60_000 });
    const userAgent = await tab.evaluate(() => navigator.userAgent);
    const results: PageResult[] = [];
    for (const [i, t] of tasks.entries()) {
      const task = { ...t, base: `/work/${t.base}` };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<PageResult>((resolve) => (timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${TASK_TIMEOUT_MS / 60_000} minutes` }), TASK_TIMEOUT_MS)));
      const r = await Promise.race([tab.evaluate((x) => window.benchRun!(x), task), timeout]).finally(() => clearTimeout(timer));
      const withLog = !r.ok && log.length ? { ...r, error: `${r.error} (page errors: ${log.join('; ')})` } : r;
      results.push(withLog);
      onDone(i, withLog);
    }
    return { userAgent, results };
  } finally {
    await browser?.close();
    await server?.close();
    fs.rmSync(page, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
