// `rhc compile --target webgpu` as processes meet it: a compile killed mid-write leaves the old
// artifact whole (it still loads and computes its own numbers), two compiles into one directory
// cannot mix their files, a directory rhc did not write is not replaced without --force, an
// input is never replaced, and sizes or permissions that cannot work are one-line errors.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, loadModel, saveModel } from '../../src/model/model.ts';
import { cpuBackend } from '../../src/runtime/backends.ts';
import { readArtifact, artifactLayout } from '../../src/runtime/webgpu/artifact-files.ts';
import { idBatch, loadArtifactModel } from '../../src/runtime/webgpu/artifact-model.ts';
import { acquireDevice, type GpuContext } from '../../src/runtime/webgpu/device.ts';
import { nodeFiles } from '../../src/runtime/webgpu/node-files.ts';
import { ROOT, rhc, tempDir } from '../helpers/rh.ts';

const SPEC = path.join(ROOT, 'spec/gp-norm.rh');
const dims = (n_embd: number) => ({ n_layer: 1, n_embd, n_head: 2, vocab_size: 64, n_positions: 16 });
const sets = (d: Record<string, number>) => Object.entries(d).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const compileArgs = (out: string, n_embd: number, extra: string[] = []) => ['compile', 'spec/gp-norm.rh', '--target', 'webgpu', ...sets(dims(n_embd)), '-o', out, ...extra];
const overrides = (d: Record<string, number>) => Object.entries(d).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));

const work = tempDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  done: Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>;
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/rhc.js'), ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return { child, done };
}

/**
 * Freezes `child` (SIGSTOP) as soon as it starts writing `out`: when its temporary directory
 * appears beside `out`, or (a writer in place) when anything inside `out` changes. Resolves with
 * the temporary directory's path, if there is one.
 */
function stopWhenWriting(r: Running, out: string): Promise<string | undefined> {
  const parent = path.dirname(out);
  const prefix = `.${path.basename(out)}.rhc-new-${r.child.pid}-`;
  return new Promise((resolve, reject) => {
    const watchers: fs.FSWatcher[] = [];
    const stop = (tmp?: string) => {
      r.child.kill('SIGSTOP');
      for (const w of watchers) w.close();
      resolve(tmp);
    };
    watchers.push(fs.watch(parent, (_, name) => name?.startsWith(prefix) && stop(path.join(parent, name))));
    if (fs.existsSync(out)) watchers.push(fs.watch(out, { recursive: true }, () => stop()));
    r.done.then(() => {
      for (const w of watchers) w.close();
      reject(new Error('the compile finished before it was seen writing'));
    });
  });
}

/**
 * A command that meets permission bits even when run by root, who writes anywhere: as root
 * without the capabilities that override them (setpriv), or, where those cannot be dropped,
 * as nobody (who must then be able to reach the checkout).
 */
function withoutRootsOverride(argv: string[]): [string, string[], { uid?: number; gid?: number }] {
  if (process.getuid?.() !== 0) return [argv[0], argv.slice(1), {}];
  const drop = ['--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search'];
  if (spawnSync('setpriv', [...drop, 'true']).status === 0) return ['setpriv', [...drop, ...argv], {}];
  return [argv[0], argv.slice(1), { uid: 65534, gid: 65534 }];
}

describe('a compile killed or raced mid-write', () => {
  let ctx: GpuContext;
  const ckpt = path.join(work, 'ckpt16');
  beforeAll(async () => {
    ctx = await acquireDevice();
    saveModel(initModel(SPEC, { seed: 5, overrides: overrides(dims(16)) }), ckpt);
  });
  afterAll(() => ctx?.destroy());

  /** Logits of the artifact in `dir` with the n_embd=16 checkpoint, and the CPU reference's. */
  async function logitsOf(dir: string): Promise<{ gpu: Float32Array; cpu: Float32Array }> {
    const { model } = await loadArtifactModel(ctx, nodeFiles(dir), nodeFiles(ckpt));
    const { ids, batch, seq } = idBatch([3, 14, 15, 9, 2], 64, 16);
    try {
      const ref = loadModel(ckpt);
      return { gpu: await model.forward(ids, batch, seq), cpu: await cpuBackend().forward({ graph: ref.graph, weights: ref.weights, ids, batch, seq }) };
    } finally {
      model.destroy();
    }
  }
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  it('killed while writing: the old artifact is intact and computes its own numbers', async () => {
    const out = path.join(work, 'killed');
    expect(rhc(compileArgs(out, 16)).status).toBe(0);
    const r = start(compileArgs(out, 32));
    const tmp = await stopWhenWriting(r, out);
    r.child.kill('SIGKILL');
    expect((await r.done).signal).toBe('SIGKILL');
    expect(tmp, 'the compile was killed while its new artifact was being built aside').toBeDefined();
    expect(fs.existsSync(tmp!)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).config.n_embd).toBe(16);
    const { gpu, cpu } = await logitsOf(out);
    expect(gpu.length).toBe(5 * 64);
    expect(maxDiff(gpu, cpu)).toBeLessThan(1e-4);
    // The next compile takes over the dead one's lock and clears its leftovers, without --force.
    const again = rhc(compileArgs(out, 32));
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    expect(fs.readdirSync(work).filter((f) => f.startsWith('.killed.'))).toEqual([]);
  });

  it('two compiles into one directory: one writes, the other fails clearly, the result is whole', async () => {
    const out = path.join(work, 'raced');
    expect(rhc(compileArgs(out, 32)).status).toBe(0);
    const first = start(compileArgs(out, 16));
    await stopWhenWriting(first, out);
    const second = rhc(compileArgs(out, 24));
    first.child.kill('SIGCONT');
    const firstDone = await first.done;
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^error: ${out} is being written by another rhc process \\(pid ${first.child.pid}\\); wait for it to finish, or remove .*\\.raced\\.rhc-lock if no rhc is running\\n$`));
    expect(firstDone.status, firstDone.stderr).toBe(0);
    expect(firstDone.stdout).toMatch(/^wrote /);
    const { manifest } = await readArtifact(nodeFiles(out)); // every file is the one its manifest names
    expect(manifest.config.n_embd).toBe(16);
    const listed = ['manifest.json', ...artifactLayout(manifest.kernels, manifest.constantsBytes !== null)].map((f) => f.split('/').join(path.sep)).sort();
    expect(fs.readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(out, f)).isFile()).sort()).toEqual(listed);
    const { gpu, cpu } = await logitsOf(out);
    expect(maxDiff(gpu, cpu)).toBeLessThan(1e-4);
  });
});

describe('what -o may replace', () => {
  it('refuses a directory of the user\'s, naming a file, and replaces it whole with --force', () => {
    const out = path.join(work, 'mine');
    fs.mkdirSync(path.join(out, 'kernels'), { recursive: true });
    fs.writeFileSync(path.join(out, 'README.md'), 'my project\n');
    fs.writeFileSync(path.join(out, 'kernels', 'mine.wgsl'), '// my kernel\n');
    const r = rhc(compileArgs(out, 16));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*mine holds README\.md, which is not a file of an rhc WebGPU artifact \(it has no manifest\.json\); .* pass --force to replace it whole \(deleting everything in it\)\n$/);
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toBe('my project\n');
    expect(fs.readFileSync(path.join(out, 'kernels', 'mine.wgsl'), 'utf8')).toBe('// my kernel\n');
    const forced = rhc(compileArgs(out, 16, ['--force']));
    expect(forced.status, forced.stderr).toBe(0);
    expect(fs.existsSync(path.join(out, 'kernels', 'mine.wgsl'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/^# gp-norm: WebGPU artifact/);
    expect(rhc(['compile', '--help']).stdout).toMatch(/--force\s+replace an output rhc did not write: for webgpu the -o\s+directory is deleted whole/);
  });

  it('never replaces an input: the spec\'s directory, the checkpoint, even with --force', () => {
    const home = path.join(work, 'home');
    fs.mkdirSync(home);
    fs.copyFileSync(SPEC, path.join(home, 'mine.rh'));
    const spec = rhc(['compile', path.join(home, 'mine.rh'), '--target', 'webgpu', ...sets(dims(16)), '-o', home, '--force']);
    expect(spec.status).toBe(1);
    expect(spec.stderr).toMatch(/^error: -o .*home would overwrite .*home\/mine\.rh, an input of this command; choose another path\n$/);
    const ckpt = path.join(work, 'ckpt-in');
    saveModel(initModel(SPEC, { overrides: overrides(dims(16)) }), ckpt);
    const weights = rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', '--weights', ckpt, '-o', ckpt, '--force']);
    expect(weights.status).toBe(1);
    expect(weights.stderr).toMatch(/would overwrite .*ckpt-in.*, an input of this command/);
    expect(fs.readdirSync(ckpt).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(fs.readFileSync(path.join(home, 'mine.rh'), 'utf8')).toBe(fs.readFileSync(SPEC, 'utf8'));
  });

  it('a read-only place is reported as permission denied', () => {
    const parent = path.join(work, 'ro');
    fs.mkdirSync(parent);
    fs.chmodSync(work, 0o755);
    fs.chmodSync(parent, 0o555);
    const [command, args, user] = withoutRootsOverride([process.execPath, path.join(ROOT, 'bin/rhc.js'), ...compileArgs(path.join(parent, 'out'), 16)]);
    const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', ...user });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot write .*ro\/out: permission denied/);
    expect(r.stderr).not.toMatch(/no such/);
  });
});

describe('the summary and the sizes', () => {
  it('prints the config keys a custom model has, never undefined', () => {
    const dir = path.join(work, 'custom');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'tiny.rh'),
      [
        'config vocab_size: int = 64',
        'config n_positions: int = 16',
        'config width: int = 8',
        'dim B, S',
        'module Tiny {',
        '  param wte: f32[vocab_size, width] = normal(0.02)',
        '  fn forward(ids: i32[B, S], pos: i32[S]) -> f32[B, S, vocab_size] {',
        '    return gather(wte, ids) @ transpose(wte, [1, 0])',
        '  }',
        '}',
        'model tiny = Tiny()',
        '',
      ].join('\n'),
    );
    const r = rhc(['compile', path.join(dir, 'tiny.rh'), '--target', 'webgpu', '-o', path.join(dir, 'out')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/ tiny at vocab_size=64 n_positions=16 width=8, -O2\nmemory: /);
    expect(r.stdout).not.toContain('undefined');
  });

  it('a buffer too large to index is a one-line error naming it and what to lower', () => {
    const r = rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', ...sets({ ...dims(64), vocab_size: 67108865 }), '-o', path.join(work, 'huge')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "error: WebGPU: tensor 'transformer.wte.weight' [67108865, 64] has 4,294,967,360 elements, more than the 4,294,967,295 a kernel can index (u32); lower vocab_size (67108865) or n_embd (64)\n",
    );
    expect(fs.existsSync(path.join(work, 'huge'))).toBe(false);
    const batch = rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', '--max-batch', '1000000000', '-o', path.join(work, 'huge')]);
    expect(batch.status).toBe(2);
    expect(batch.stderr).toBe('error: --max-batch must be in [1, 65536], got 1000000000\n');
  });
});
