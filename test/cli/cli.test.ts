// The CLI as a user meets it: help text, exit codes, and errors without stack traces.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ROOT, rhc, writeFiles } from '../helpers/rh.ts';

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe('rhc CLI', () => {
  it('lists its commands and each command documents its options', () => {
    const top = rhc(['--help']);
    expect(top.status).toBe(0);
    for (const c of ['check', 'ir', 'init-weights', 'forward']) expect(top.stdout).toContain(c);
    expect(rhc(['forward', '--help']).stdout).toMatch(/--ids[\s\S]*--text[\s\S]*--backend[\s\S]*--out/);
    expect(rhc(['init-weights', '--help']).stdout).toMatch(/--out[\s\S]*--seed[\s\S]*--set/);
  });

  it('checks every seed spec', () => {
    const specs = fs.readdirSync(path.resolve(import.meta.dirname, '../../spec')).filter((f) => f.endsWith('.rh'));
    const r = rhc(['check', ...specs.map((s) => `spec/${s}`)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(specs.length);
  });

  it('exits 1 with rendered diagnostics for a bad file, and still checks the others', () => {
    const dir = writeFiles({ 'bad.rh': 'dim S\nfn f(x: f32[S, 64], w: f32[32, 8]) -> f32[S, 8] {\n  return x @ w\n}\n' });
    const r = rhc(['check', path.join(dir, 'bad.rh'), 'spec/gp.rh']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.rh:3:12: error: matmul: inner dimensions differ: f32\[S, 64\] @ f32\[32, 8\] \(64 vs 32\)\n {3}3 \|   return x @ w\n {5}\| {12}\^/);
    expect(r.stdout).toContain('spec/gp.rh: ok');
    noStack(r.stderr);
  });

  it('prints the IR with config overrides applied', () => {
    const r = rhc(['ir', 'spec/gp.rh', '--set', 'n_embd=16', '--set', 'n_head=2', '--set', 'n_layer=1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/config: n_embd=16, n_layer=1, n_head=2/);
    expect(r.stdout).toMatch(/f32\[16, 48\] = param \{name=transformer\.h\.0\.attn\.c_attn\.weight/);
    const json = JSON.parse(rhc(['ir', 'spec/gp.rh', '--set', 'n_layer=1', '--json']).stdout);
    expect(json.outputs[0].name).toBe('logits');
  });

  it('shows last-position: ln_f and the lm_head on the last position, logits [B, 1, vocab]', () => {
    const r = rhc(['ir', 'spec/gp.rh', '--set', 'n_embd=16', '--set', 'n_head=2', '--set', 'n_layer=1', '--passes', 'cse,kv-cache,last-position']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/%(\d+): f32\[B, 1, 16\] = slice %\d+ \{axis=1, start=S - 1, end=S\} +# last position\n.*= layer_norm %\1 /);
    expect(r.stdout).toMatch(/%(\d+): f32\[B, 1, 50257\] = matmul [^\n]*\n {2}return logits = %\1\n/);
  });

  it('shows the fused regions after fuse, by -O level: RoPE inside the q/k/v region of c_attn at -O2', () => {
    const dims = ['--set', 'n_embd=16', '--set', 'n_head=2', '--set', 'n_layer=1'];
    const o2 = rhc(['ir', 'spec/gp-norm.rh', ...dims, '--after', 'fuse']);
    expect(o2.status).toBe(0);
    // the region, then its body indented under it: ln_1, the c_attn matmul, and the rotation
    expect(o2.stdout).toMatch(/= fused( %\d+)+ \{rule=qkv-heads\}\n {6}\(%[^\n]*\) ->\n {6}%\d+: f32\[B, S, 16\] = layer_norm[^\n]*\n {6}%\d+: f32\[B, S, 48\] = matmul/);
    expect(o2.stdout).toMatch(/\n {6}%\d+: f32\[B, S, 2, 8\] = rope /);
    const o1 = rhc(['ir', 'spec/gp-norm.rh', ...dims, '--after', 'fuse', '-O1']);
    expect(o1.stdout).not.toContain('qkv-heads');
    expect(o1.stdout).toContain('{rule=matmul-epilogue}');
    expect(rhc(['ir', 'spec/gp-norm.rh', ...dims, '--after', 'fuse', '-O0']).stdout).not.toContain('= fused');
    const bad = rhc(['ir', 'spec/gp-norm.rh', '-O3']);
    expect(bad.stderr).toContain("-O: expected one of 0, 1, 2, got '3'");
    expect(bad.status).toBe(2);
  });

  it('reports bad options and bad config values as usage errors', () => {
    const unknown = rhc(['ir', 'spec/gp.rh', '--set', 'n_hed=4']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("--set: unknown config 'n_hed' (did you mean 'n_head'?)");
    const badValue = rhc(['ir', 'spec/gp.rh', '--set', 'n_head=four']);
    expect(badValue.stderr).toContain("--set: config n_head (int): expected an integer, got 'four'");
    const malformed = rhc(['ir', 'spec/gp.rh', '--set', 'n_head']);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toContain("--set expects name=value, got 'n_head'");
    const both = rhc(['forward', 'x', '--ids', '1', '--text', 'a', '--out', 'x.npy']);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('give exactly one of --ids or --text');
    for (const r of [unknown, badValue, malformed, both]) noStack(r.stderr);
  });

  it('exits 2 for every command-line mistake, as --help documents, and refuses ir option mixes', () => {
    const help = rhc(['--help']);
    expect(help.stdout).toMatch(/Exit status:\n {2}0 {3}success\n {2}1 {3}the input was wrong[\s\S]*\n {2}2 {3}the command line was wrong[\s\S]*\n {2}70 {2}an internal error/);
    for (const args of [['nosuch'], ['forward'], ['check', '--no-such-flag', 'spec/gp.rh'], ['generate', 'x', '--prompt', 'hi', '--seed', '1e3']]) {
      const r = rhc(args);
      expect(r.status, args.join(' ')).toBe(2);
      noStack(r.stderr);
    }
    const mixed = rhc(['ir', 'spec/gp.rh', '--after', 'dce', '--passes', 'dce']);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toBe('error: give --after (a stage of the standard pipeline) or --passes (your own list), not both\n');
    const twice = rhc(['ir', 'spec/gp.rh', '--set', 'n_layer=1', '--passes', 'kv-cache,kv-cache']);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toBe('error: --passes: kv-cache adds the cache inputs once; list it once\n');
    const seed = rhc(['generate', 'no/such/dir', '--prompt', 'hi', '--seed', '100000000000000000000']);
    expect(seed.status).toBe(2);
    expect(seed.stdout).toBe(''); // refused before the prompt is echoed
    expect(seed.stderr).toBe('error: --seed: 100000000000000000000 is too large (at most 9007199254740991 in magnitude)\n');
  });

  it('runs through npx without a word from npm', () => {
    const r = spawnSync('npx', ['rhc', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('names a spec file it cannot read', () => {
    const r = rhc(['check', 'spec/nope.rh', 'spec']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('error: cannot read spec spec/nope.rh: no such file or directory\nerror: cannot read spec spec: it is a directory, not a regular file\n');
  });

  it('refuses options of the other target and unknown backends before doing any work', () => {
    const seed = rhc(['compile', 'spec/gp.rh', '--target', 'webgpu', '--seed', '3']);
    expect(seed.status).toBe(2);
    expect(seed.stderr).toBe('error: --seed is an option of --target onnx\n');
    const batch = rhc(['compile', 'spec/gp.rh', '--target', 'onnx', '--max-batch', '2']);
    expect(batch.stderr).toBe('error: --max-batch is an option of --target webgpu\n');
    const backend = rhc(['generate', 'no/such/dir', '--prompt', 'hi', '--backend', 'cuda']);
    expect(backend.status).toBe(2);
    expect(backend.stderr).toBe("error: --backend: unknown value 'cuda' (one of: cpu, onnx, webgpu)\n");
  });

  it('says what it could not write, as a user error', () => {
    const onnx = rhc(['compile', 'spec/gp.rh', '--target', 'onnx', '--set', 'n_layer=1', '--set', 'n_embd=16', '--set', 'n_head=2', '-o', 'README.md/x.onnx']);
    expect(onnx.status).toBe(1);
    expect(onnx.stderr).toBe('error: cannot write README.md/x.onnx: a file is in the way\n');
    const webgpu = rhc(['compile', 'spec/gp.rh', '--target', 'webgpu', '--set', 'n_layer=1', '--set', 'n_embd=16', '--set', 'n_head=2', '-o', 'README.md/x']);
    expect(webgpu.status).toBe(1);
    expect(webgpu.stderr).toBe('error: cannot write the artifact to README.md/x: a part of the path is a file, not a directory\n');
  });

  it('names the missing checkpoint directory', () => {
    const r = rhc(['forward', 'no/such/dir', '--ids', '1,2', '--out', 'x.npy']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("error: checkpoint directory 'no/such/dir' does not exist\n");
  });
});
