// rhc as a package a user installs: `npm pack` here (which runs `prepare`, so the tarball holds a
// build of the current sources), the tarball installed into a fresh project outside this tree
// (os.tmpdir(), where nothing resolves to rhc's sources or its node_modules), and there, as a
// user would: `npx rhc` compiles a bundled spec and the user's own .rh file importing
// "gpt2.rh" from rhc's spec library; a plain .mjs runs both artifacts on WebGPU (Dawn; SwiftShader
// without a GPU) with the logits of `rhc forward --backend cpu`; tsc accepts a .ts file against
// the package's declarations; vite bundles a page importing 'rhc/webgpu' and an artifact, and
// headless Chromium runs it with the same logits. The user's files are in test/package/fixture/.
// Packages come from npm's cache (the repository's `npm ci` filled it). With CI set, a missing
// Chromium or WebGPU adapter fails the WebGPU steps; locally they are skipped without one.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serveExample } from '../../examples/browser/serve.ts';
import { readNpy } from '../../src/io/npy.ts';
import { SWIFTSHADER_ICD } from '../../src/runtime/webgpu/device.ts';
import { CHROMIUM, chromiumRunnable, openChromiumTab, type ChromiumTab } from '../helpers/chromium.ts';
import { ROOT } from '../helpers/rh.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixture');
const SET = Object.entries({ n_layer: 2, n_embd: 32, n_head: 4, vocab_size: 96, n_positions: 16 }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const VOCAB = 96;
const IDS = [5, 17, 3, 95, 40, 0];
/** The two artifacts: a spec of rhc's library, and the user's own (fixture/my-rope.rh). */
const MODELS = ['gp-norm', 'my-rope'] as const;
/** What the tarball holds at its top level: package.json's `files`, and what npm always adds. */
const TOP_LEVEL = new Set(['dist', 'spec', 'bin', 'README.md', 'LICENSE', 'package.json']);
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; exports: Record<string, string | Record<string, string>> };
const installedVersion = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

const webgpuRunnable = Boolean(process.env.CI) || fs.existsSync(SWIFTSHADER_ICD);

/** Variables of vitest's (vite's import.meta.env is copied into process.env) and of vitest.config.ts's. */
const TEST_RUNNER_VARIABLES = ['NODE_ENV', 'NODE_OPTIONS', 'TEST', 'DEV', 'PROD', 'SSR', 'MODE', 'BASE_URL', 'RHC_FROM_SOURCE'];

/**
 * The user's environment: none of npm's variables from the `npm test` running this (npm_config_local_prefix
 * would point a nested npm back at this repository), nor the test runner's.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }; // as .ci/run: its postinstall would download
  for (const key of Object.keys(env)) if (/^(npm_|vitest|vite_)/i.test(key) || key === 'INIT_CWD' || TEST_RUNNER_VARIABLES.includes(key)) delete env[key];
  return env;
}

/** What `npm run build` writes for every module of src/ and backends/ (tsconfig.build.json). */
function expectedBuild(): string[] {
  const out: string[] = [];
  for (const top of ['src', 'backends'])
    for (const f of fs.readdirSync(path.join(ROOT, top), { recursive: true, encoding: 'utf8' }))
      if (f.endsWith('.ts') && !f.endsWith('.d.ts')) {
        const base = `dist/${top}/${f.slice(0, -3).split(path.sep).join('/')}`;
        out.push(`${base}.js`, `${base}.js.map`, `${base}.d.ts`);
      }
  return out;
}

/** Runs a command to completion; its stdout, or an error with everything it printed. */
function sh(cwd: string, command: string, args: string[], timeoutMs = 120_000): { stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(command, args, { cwd, env: userEnv(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} failed (${r.error?.message ?? r.signal ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr, ms };
}

/** `npx rhc ...` in the project: --no, so that npx never fetches a package of that name from the registry. */
const rhc = (cwd: string, ...args: string[]) => sh(cwd, 'npx', ['--no', '--', 'rhc', ...args]).stdout;

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

interface PackEntry {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

/** `npm pack --json`'s report: the tarball's name, sizes and files. npm 11 sends the build's output
 * to stderr; should an npm print it before the JSON on stdout, the JSON starts at a line '['. */
function packReport(stdout: string): PackEntry[] {
  const start = stdout.startsWith('[') ? 0 : stdout.indexOf('\n[\n') + 1;
  try {
    return JSON.parse(stdout.slice(start)) as PackEntry[];
  } catch {
    throw new Error(`npm pack --json printed no report:\n${stdout}`);
  }
}

describe('the npm package, installed in a fresh project', () => {
  const t0 = performance.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-package-'));
  const project = path.join(work, 'project');
  const timings: string[] = [];
  let tarball = '';
  let installed = false;
  let compiled = false;
  /** logits per model from the plain .mjs on WebGPU in Node */
  let nodeLogits: Record<string, number[]> | undefined;

  /** What `rhc forward --backend cpu` wrote for `name` (the compile step runs it). */
  const referenceLogits = (name: string): Float32Array => {
    const { shape, data } = readNpy(path.join(project, `${name}.npy`));
    expect(shape).toEqual([IDS.length, VOCAB]);
    return data as Float32Array;
  };

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    console.log(`[package] ${timings.join('; ')}; the whole test ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('packs only the build, the spec library, the bin, the README and the licence', () => {
    const pack = sh(ROOT, 'npm', ['pack', '--json', '--pack-destination', work], 240_000);
    timings.push(`npm pack (with prepare's build) ${(pack.ms / 1000).toFixed(1)} s`);
    const [entry] = packReport(pack.stdout);
    tarball = path.join(work, entry.filename);
    expect(fs.statSync(tarball).size).toBe(entry.size);
    const files = entry.files.map((f) => f.path);
    console.log(`[package] ${entry.filename}: ${(entry.size / 1024).toFixed(0)} KiB packed, ${(entry.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${entry.entryCount} files`);

    expect(files.filter((f) => !TOP_LEVEL.has(f.split('/')[0]))).toEqual([]);
    const unwanted = /(^|\/)(node_modules|test|tests|bench|tmp|runs|fixture)\/|\.tsbuildinfo$|\.test\.[cm]?[jt]s$|(?<!\.d)\.[cm]?ts$/;
    expect(files.filter((f) => unwanted.test(f))).toEqual([]);
    for (const f of ['bin/rhc.js', 'dist/src/cli/main.js', 'spec/gpt2.rh', 'README.md', 'LICENSE']) expect(files, f).toContain(f);
    // every module of src/ and backends/ built (a build racing this one would show here), nothing else under dist/
    expect(files.filter((f) => f.startsWith('dist/')).sort()).toEqual(expectedBuild().sort());
    // every spec of the library, and every target of package.json's exports (but the rhc-source one: src/*.ts)
    for (const spec of fs.readdirSync(path.join(ROOT, 'spec'))) expect(files, spec).toContain(`spec/${spec}`);
    const targets = Object.values(PACKAGE.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.entries(t).filter(([c]) => c !== 'rhc-source').map(([, v]) => v)));
    expect(targets).toContain('./dist/src/webgpu.js');
    for (const t of targets) expect(files, t).toContain(t.slice(2));
  }, 300_000);

  it('installs from the tarball with npm', () => {
    expect(tarball, 'no tarball: the packing step failed').not.toBe('');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'rhc-user-project', private: true, type: 'module' }, null, 2)}\n`);
    for (const f of fs.readdirSync(FIXTURE)) fs.copyFileSync(path.join(FIXTURE, f), path.join(project, f));
    // What the user adds for their page and their types, at the versions this repository's npm ci cached.
    const tools = ['vite', 'typescript', '@types/node'].map((name) => `${name}@${installedVersion(name)}`);
    const install = sh(project, 'npm', ['install', tarball, ...tools, '--prefer-offline', '--no-audit', '--no-fund'], 300_000);
    timings.push(`npm install (the tarball, ${tools.join(', ')}) ${(install.ms / 1000).toFixed(1)} s`);
    const pkg = path.join(project, 'node_modules', 'rhc');
    expect(fs.lstatSync(pkg).isSymbolicLink()).toBe(false); // a copy of the tarball, not a link back here
    expect(JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version).toBe(PACKAGE.version);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(rhc(project, '--version').trim()).toBe(PACKAGE.version);
    installed = true;
  }, 360_000);

  it('compiles a spec of its library, and a spec of the user importing "gpt2.rh" from that library, and runs them on the CPU', () => {
    expect(installed, 'rhc is not installed: an earlier step failed').toBe(true);
    const t = performance.now();
    const bundled = path.join('node_modules', 'rhc', 'spec', 'gp-norm.rh');
    rhc(project, 'init-weights', bundled, '--out', 'ckpt/gp-norm', '--seed', '3', ...SET);
    rhc(project, 'compile', bundled, '--target', 'webgpu', '--weights', 'ckpt/gp-norm', '-o', 'art/gp-norm');

    // The user's spec: no gpt2.rh beside it, so its import is found in node_modules/rhc/spec/.
    expect(fs.existsSync(path.join(project, 'gpt2.rh'))).toBe(false);
    expect(rhc(project, 'check', 'my-rope.rh', ...SET)).toMatch(/my-rope\.rh: ok/);
    rhc(project, 'init-weights', 'my-rope.rh', '--out', 'ckpt/my-rope', '--seed', '4', ...SET);
    // The checkpoint keeps the user's spec (rhc forward reads it from there), not the bundled one it imports.
    expect(fs.readdirSync(path.join(project, 'ckpt/my-rope')).sort()).toEqual(['config.json', 'model.safetensors', 'my-rope.rh']);
    const out = rhc(project, 'compile', 'my-rope.rh', '--target', 'webgpu', '--weights', 'ckpt/my-rope', '-o', 'art/my-rope');
    expect(out).toMatch(/class HeadScaledModel/);
    timings.push(`init-weights, check and compile (5 commands) ${((performance.now() - t) / 1000).toFixed(1)} s`);

    for (const name of MODELS) {
      const manifest = JSON.parse(fs.readFileSync(path.join(project, 'art', name, 'manifest.json'), 'utf8'));
      expect(manifest.config).toMatchObject({ n_layer: 2, n_embd: 32, vocab_size: VOCAB });
      // The generated modules reach the runtime through the package, never a path into it.
      for (const f of ['model.ts', 'model.mjs', 'model.d.mts']) {
        const text = fs.readFileSync(path.join(project, 'art', name, f), 'utf8');
        expect(text, `${name}/${f}`).toMatch(/from 'rhc\/webgpu'/);
        expect(text, `${name}/${f}`).not.toMatch(/from '[^']*(src|dist)\//);
      }
    }
    // The reference interpreter on the same ids (the CLI reads the user's spec from the checkpoint).
    for (const name of MODELS) {
      rhc(project, 'forward', `ckpt/${name}`, '--ids', IDS.join(','), '--backend', 'cpu', '--out', `${name}.npy`);
      const logits = referenceLogits(name);
      expect(new Set(logits).size, name).toBeGreaterThan(logits.length / 2); // real logits, not a constant
    }
    compiled = true;
  }, 240_000);

  it.runIf(webgpuRunnable)('runs both artifacts from a plain .mjs on WebGPU, with the logits of rhc forward --backend cpu', () => {
    expect(compiled, 'nothing compiled: an earlier step failed').toBe(true);
    const run = sh(project, process.execPath, ['forward.mjs', IDS.join(',')]);
    timings.push(`forward.mjs on WebGPU ${(run.ms / 1000).toFixed(1)} s`);
    const result = JSON.parse(run.stdout) as Record<string, number[]> & { adapter: string };
    for (const name of MODELS) expect(largestDifference(result[name], referenceLogits(name)), name).toBeLessThanOrEqual(1e-4);
    // Two different models: the user's variant is not the bundled one under another name.
    expect(largestDifference(result['gp-norm'], result['my-rope'])).toBeGreaterThan(1e-3);
    nodeLogits = result;
  }, 240_000);

  it("type-checks the user's TypeScript against the package's declarations", () => {
    expect(compiled, 'nothing compiled: an earlier step failed').toBe(true);
    // skipLibCheck is off (fixture/tsconfig.json), so rhc's own .d.ts files are checked too.
    const r = spawnSync('npx', ['--no', '--', 'tsc', '-p', '.'], { cwd: project, env: userEnv(), encoding: 'utf8', timeout: 180_000 });
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    // onnx-proto's own declarations name a global `Long` they never declare (a defect of that
    // package, reached through rhc's ONNX types); anything else is an error of rhc's or the user's.
    const others = errors.filter((l) => !/^node_modules\/onnx-proto\/dist\/onnx\.d\.ts\(\d+,\d+\): error TS2304: Cannot find name 'Long'\.$/.test(l));
    expect(others, r.stdout + r.stderr).toEqual([]);
    if (r.status !== 0 && errors.length === 0) expect.fail(`tsc failed without a diagnostic (${r.error?.message ?? r.signal ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  }, 240_000);

  it.runIf(chromiumRunnable)('bundles a page importing rhc/webgpu and the artifact with vite, and runs it in headless Chromium', async () => {
    expect(compiled, 'nothing compiled: an earlier step failed').toBe(true);
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: bash scripts/install-system-deps.sh installs it`).toBe(true);
    const build = sh(project, 'npx', ['--no', '--', 'vite', 'build', '--outDir', 'page']);
    timings.push(`vite build ${(build.ms / 1000).toFixed(1)} s`);
    // A node: module in what the page imports would be stubbed out by vite, and fail in the page.
    expect(build.stdout + build.stderr).not.toMatch(/externalized for browser compatibility/);

    const server = await serveExample({ page: path.join(project, 'page'), artifact: path.join(project, 'art/my-rope'), checkpoint: path.join(project, 'ckpt/my-rope') });
    let chrome: ChromiumTab | undefined;
    try {
      const t = performance.now();
      chrome = await openChromiumTab();
      const { tab, messages } = chrome;
      await tab.goto(`${server.url}?ids=${IDS.join(',')}`);
      await tab.waitForFunction(() => (window as { rhcLogits?: unknown }).rhcLogits !== undefined, undefined, { timeout: 90_000 });
      const result = (await tab.evaluate(() => (window as { rhcLogits?: unknown }).rhcLogits)) as { ok: true; adapter: string; logits: number[] } | { ok: false; error: string };
      timings.push(`Chromium ${((performance.now() - t) / 1000).toFixed(1)} s`);
      if (!result.ok) expect.fail(`the page failed: ${result.error}\nconsole:\n${messages.join('\n')}`);
      expect(await tab.locator('#status').textContent()).toMatch(/^ran on /);
      expect(largestDifference(result.logits, referenceLogits('my-rope'))).toBeLessThanOrEqual(1e-4);
      if (nodeLogits) expect(largestDifference(result.logits, nodeLogits['my-rope'])).toBeLessThanOrEqual(1e-4);
    } finally {
      await chrome?.close();
      await server.close();
    }
  }, 240_000);
});
