// Builds the browser demo with vite and serves it, with an artifact, a checkpoint and the spec
// library the artifact was compiled from (the page draws the model's rotation frequencies from
// its spec), from one http://localhost origin (WebGPU exists only in secure contexts; localhost
// is one).
//
//   npx tsx examples/browser/serve.ts --artifact generated/gp-norm --checkpoint out/gp-norm [--spec-dir DIR] [--port 8080]
//
// The artifact must have been compiled for the checkpoint's dims (`rhc compile --weights DIR`).
// test/examples/browser.test.ts and browser-demo.test.ts use buildPage and serveExample directly.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { Plugin } from 'vite';

const PAGE_DIR = import.meta.dirname;
/** rhc's spec library, served at /spec/ unless another directory is given */
const SPEC_DIR = path.resolve(PAGE_DIR, '../../spec');

const CHEVROTAIN_SHIM = path.resolve(PAGE_DIR, '../../src/dsl/chevrotain.ts');
const BROWSER_CHEVROTAIN = '\0rhc-browser-chevrotain';

/**
 * The page lowers the model's spec to draw its frequencies, so it bundles rhc's parser.
 * src/dsl/chevrotain.ts finds chevrotain's one-file build through Node's fs (for the CLI's
 * start-up time); in the page, chevrotain's package entry takes its place (the same API).
 */
const browserChevrotain: Plugin = {
  name: 'rhc-browser-chevrotain',
  enforce: 'pre',
  async resolveId(source, importer) {
    if (!source.endsWith('chevrotain.ts')) return null;
    const resolved = await this.resolve(source, importer, { skipSelf: true });
    return resolved?.id === CHEVROTAIN_SHIM ? BROWSER_CHEVROTAIN : null;
  },
  load: (id) => (id === BROWSER_CHEVROTAIN ? "export * from 'chevrotain';" : null),
};

/** Builds index.html + main.ts into `outDir` (a fresh temp dir by default); returns the directory. */
export async function buildPage(outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-browser-'))): Promise<string> {
  const { build, defaultClientConditions } = await import('vite');
  await build({
    root: PAGE_DIR,
    configFile: false,
    logLevel: 'warn',
    base: './',
    plugins: [browserChevrotain],
    // The page imports 'rhc/webgpu', this very package: the rhc-source export condition (package.json)
    // bundles the sources, so the demo needs no `npm run build` and shows the code as it stands.
    resolve: { conditions: ['rhc-source', ...defaultClientConditions] },
    // chevrotain, rhc's front end and GPT-2's BPE ranks make one ~0.8 MB script: a demo's, not a library's.
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
  });
  return outDir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.rh': 'text/plain; charset=utf-8',
};

export interface ServeOptions {
  /** the built page (buildPage's directory) */
  page: string;
  /** served at /artifact/ */
  artifact: string;
  /** served at /checkpoint/ */
  checkpoint: string;
  /** served at /spec/: the .rh files the artifact was compiled from (default: rhc's spec library) */
  spec?: string;
  /** 0 (default) picks a free port */
  port?: number;
}

/** Serves page, artifact, checkpoint and specs read-only; resolves once listening. */
export async function serveExample(opts: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const mounts: [string, string][] = [
    ['/artifact/', path.resolve(opts.artifact)],
    ['/checkpoint/', path.resolve(opts.checkpoint)],
    ['/spec/', path.resolve(opts.spec ?? SPEC_DIR)],
    ['/', path.resolve(opts.page)],
  ];
  const server = http.createServer((req, res) => {
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n');
      return;
    }
    const [prefix, root] = mounts.find(([p]) => urlPath.startsWith(p))!;
    const file = path.resolve(root, `.${urlPath.slice(prefix.length - 1)}`, urlPath.endsWith('/') ? 'index.html' : '');
    // Refuse anything outside the mounted directory (../ in the path).
    if (path.relative(root, file).startsWith('..') || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${urlPath}\n`);
      return;
    }
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': fs.statSync(file).size, 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { artifact: { type: 'string' }, checkpoint: { type: 'string' }, 'spec-dir': { type: 'string' }, port: { type: 'string', default: '8080' } } });
  if (!values.artifact || !values.checkpoint) {
    process.stderr.write('usage: npx tsx examples/browser/serve.ts --artifact DIR --checkpoint DIR [--spec-dir DIR] [--port N]\n');
    process.exit(2);
  }
  const page = await buildPage();
  const spec = values['spec-dir'] ?? SPEC_DIR;
  const { url } = await serveExample({ page, artifact: values.artifact, checkpoint: values.checkpoint, spec, port: Number(values.port) });
  process.stdout.write(`serving ${url} (artifact ${values.artifact}, checkpoint ${values.checkpoint}, specs ${path.relative(process.cwd(), spec) || '.'}); open it in a browser with WebGPU, Ctrl-C stops\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) await main();
