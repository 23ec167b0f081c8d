// Builds the browser example with vite and serves it, with an artifact and a checkpoint, from
// one http://localhost origin (WebGPU exists only in secure contexts; localhost is one).
//
//   npx tsx examples/browser/serve.ts --artifact generated/gp-norm --checkpoint out/gp-norm [--port 8080]
//
// The artifact must have been compiled for the checkpoint's dims (`rhc compile --weights DIR`).
// test/examples/browser.test.ts uses buildPage and serveExample directly.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';

const PAGE_DIR = import.meta.dirname;

/** Builds index.html + main.ts into `outDir` (a fresh temp dir by default); returns the directory. */
export async function buildPage(outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-browser-'))): Promise<string> {
  const { build } = await import('vite');
  await build({
    root: PAGE_DIR,
    configFile: false,
    logLevel: 'warn',
    base: './',
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
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
};

export interface ServeOptions {
  /** the built page (buildPage's directory) */
  page: string;
  /** served at /artifact/ */
  artifact: string;
  /** served at /checkpoint/ */
  checkpoint: string;
  /** 0 (default) picks a free port */
  port?: number;
}

/** Serves page, artifact and checkpoint read-only; resolves once listening. */
export async function serveExample(opts: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const mounts: [string, string][] = [
    ['/artifact/', path.resolve(opts.artifact)],
    ['/checkpoint/', path.resolve(opts.checkpoint)],
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
  const { values } = parseArgs({ options: { artifact: { type: 'string' }, checkpoint: { type: 'string' }, port: { type: 'string', default: '8080' } } });
  if (!values.artifact || !values.checkpoint) {
    process.stderr.write('usage: npx tsx examples/browser/serve.ts --artifact DIR --checkpoint DIR [--port N]\n');
    process.exit(2);
  }
  const page = await buildPage();
  const { url } = await serveExample({ page, artifact: values.artifact, checkpoint: values.checkpoint, port: Number(values.port) });
  process.stdout.write(`serving ${url} (artifact ${values.artifact}, checkpoint ${values.checkpoint}); open it in a browser with WebGPU, Ctrl-C stops\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) await main();
