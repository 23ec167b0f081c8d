// init-weights and forward as a user runs them, on hostile or unlucky inputs: a killed write,
// outputs aimed at inputs, FIFOs and /dev/zero, names like __proto__, configs that lie about
// their weights, specs that span several files. Numbers are checked against the float64 oracle
// on weights parsed here by hand, never against rhc's own earlier output.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.ts';
import { initModel, loadModel } from '../../src/model/model.ts';
import { gpt2ForwardF64, relMaxDiff, type VariantF64 } from '../helpers/gpt2-f64.ts';
import { ROOT, rhc, tempDir as newTempDir, writeFiles as writeNewFiles } from '../helpers/rh.ts';

const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tempDir = () => made[made.push(newTempDir()) - 1];
const writeFiles = (files: Record<string, string>) => made[made.push(writeNewFiles(files)) - 1];

const DIMS = { n_embd: 16, n_head: 2, n_layer: 1, n_positions: 16, vocab_size: 64 };
const SMALL = Object.entries(DIMS).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const CFG = { ...DIMS, layer_norm_epsilon: 1e-5 };

/** The CLI with a time limit: a command that hangs on a FIFO must fail the test, not stall it. */
function rhcWithin(seconds: number, args: string[]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/rhc.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: seconds * 1000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - t0) / 1000 };
}

/** A safetensors file parsed by hand: the header as JSON (own keys, `__proto__` included) and each tensor's f32 values. */
function readByHand(file: string) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const values = (name: string) => {
    const [b, e] = header[name].data_offsets;
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    return new Float32Array(Uint8Array.from(bytes).buffer);
  };
  const weights = new Map<string, Float32Array>();
  for (const name of Object.keys(header)) if (name !== '__metadata__') weights.set(name, values(name));
  return { buf, headerLength: n, header, weights };
}

function checkpoint(spec = 'spec/gpt2-abs.rh', seed = 1, dir = path.join(tempDir(), 'ck')): string {
  const r = rhc(['init-weights', spec, '--out', dir, '--seed', String(seed), ...SMALL]);
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

function oracle(ck: string, variant: VariantF64, ids: number[]): Float64Array {
  return gpt2ForwardF64(readByHand(path.join(ck, 'model.safetensors')).weights, { ...CFG, variant }, ids);
}

function editConfig(ck: string, edit: (c: Record<string, unknown>) => void): void {
  const file = path.join(ck, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c));
}

describe('init-weights writes a checkpoint whole or not at all', () => {
  it('killed while writing a large checkpoint, it leaves the old one loading with its old numbers', async () => {
    const parent = tempDir();
    const ck = checkpoint('spec/gpt2-abs.rh', 1, path.join(parent, 'ck'));
    const overrides = Object.entries(DIMS).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
    const old = initModel(path.join(ROOT, 'spec/gpt2-abs.rh'), { seed: 1, overrides });

    // 4 layers of width 256 and GPT-2's vocabulary: about 64 MiB of weights to write.
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/rhc.js'), 'init-weights', 'spec/gpt2-abs.rh', '--out', ck, '--seed', '2', '--set', 'n_embd=256', '--set', 'n_layer=4', '--set', 'n_head=4'], { cwd: ROOT });
    const list = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d) : []);
    // The weights are being written: a temporary model.safetensors exists, in place or in a directory built aside.
    const writing = () =>
      list(ck).some((n) => /^\.model\.safetensors\..*tmp/.test(n)) ||
      list(parent).some((n) => n.startsWith('.ck.rhc-new-') && list(path.join(parent, n)).some((m) => /^\.model\.safetensors\..*tmp/.test(m)));
    const end = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const timer = setInterval(() => {
        if (writing()) {
          child.kill('SIGKILL');
          clearInterval(timer);
        }
      }, 1);
      child.on('exit', (code, signal) => {
        clearInterval(timer);
        resolve({ code, signal });
      });
    });
    expect(end.signal, 'the writer must be killed mid-write for this test to mean anything').toBe('SIGKILL');

    const back = loadModel(ck);
    expect(back.graph.config).toMatchObject(DIMS);
    for (const [name, w] of old.weights) expect(back.weights.get(name), name).toEqual(w);
    const ids = [3, 1, 4, 1, 5];
    const r = rhc(['forward', ck, '--ids', ids.join(','), '--out', path.join(parent, 'old.npy')]);
    expect(r.status, r.stderr).toBe(0);
    const ref = gpt2ForwardF64(old.weights, { ...CFG, variant: 'gpt2-abs' }, ids);
    expect(relMaxDiff(readNpy(path.join(parent, 'old.npy')).data, ref)).toBeLessThan(1e-4);

    // The next writer takes over the dead one's lock and clears its leftovers.
    checkpoint('spec/gpt2-abs.rh', 3, ck);
    expect(list(parent).sort()).toEqual(['ck', 'old.npy']);
  }, 60_000);

  it('refuses a non-empty --out that is not an rhc checkpoint unless --force, and never the spec\'s own directory', () => {
    const dir = writeFiles({ 'notes.txt': 'mine' });
    const r = rhc(['init-weights', 'spec/gpt2-abs.rh', '--out', dir, ...SMALL]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: --out ${dir} is not empty and is not a checkpoint rhc wrote (no config.json with model_type "rotating-head-gpt2"); writing the checkpoint would delete it: choose a new or empty directory, or pass --force to replace it\n`);
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);

    // A checkpoint holding something else (logits written into it) is not replaced either.
    const ck = checkpoint();
    fs.writeFileSync(path.join(ck, 'logits.npy'), 'x');
    const mixed = rhc(['init-weights', 'spec/gpt2-abs.rh', '--out', ck, ...SMALL]);
    expect(mixed.status).toBe(1);
    expect(mixed.stderr).toContain('holds files that are not part of a checkpoint (logits.npy)');

    const forced = rhc(['init-weights', 'spec/gpt2-abs.rh', '--out', dir, '--force', ...SMALL]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);

    const proj = writeFiles({ 'mine.rh': fs.readFileSync(path.join(ROOT, 'spec/lr.rh'), 'utf8') });
    const own = rhc(['init-weights', path.join(proj, 'mine.rh'), '--out', proj, '--force', ...SMALL]);
    expect(own.status).toBe(1);
    expect(own.stderr).toContain(`--out ${proj} would overwrite ${path.join(proj, 'mine.rh')}, an input of this command`);
    expect(fs.readdirSync(proj)).toEqual(['mine.rh']);

    const help = rhc(['init-weights', '--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('replaced only when it is empty or a checkpoint rhc wrote');
    expect(help).toContain('--force replace --out even when it holds other files: everything in it is deleted');
  });
});

describe('forward never overwrites its inputs, nor a file it did not write, without --force', () => {
  it('refuses --out on the checkpoint\'s weights, config or spec, even with --force', () => {
    const ck = checkpoint();
    const weights = fs.readFileSync(path.join(ck, 'model.safetensors'));
    for (const target of ['model.safetensors', 'config.json']) {
      for (const force of [[], ['--force']]) {
        const out = path.join(ck, target);
        const r = rhc(['forward', ck, '--ids', '1', '--out', out, ...force]);
        expect(r.status).toBe(1);
        expect(r.stderr).toBe(`error: --out ${out} would overwrite ${out}, an input of this command; choose another path\n`);
      }
    }
    const link = path.join(path.dirname(ck), 'link.npy');
    fs.symlinkSync(path.join(ck, 'model.safetensors'), link);
    expect(rhc(['forward', ck, '--ids', '1', '--out', link, '--force']).stderr).toContain('an input of this command');
    expect(fs.readFileSync(path.join(ck, 'model.safetensors')).equals(weights)).toBe(true);

    // A spec that travels with the checkpoint is an input too.
    const proj = writeFiles({ 'mine.rh': fs.readFileSync(path.join(ROOT, 'spec/lr.rh'), 'utf8') });
    const mine = checkpoint(path.join(proj, 'mine.rh'));
    const spec = path.join(mine, 'mine.rh');
    const r = rhc(['forward', mine, '--ids', '1', '--out', spec, '--force']);
    expect(r.stderr).toBe(`error: --out ${spec} would overwrite ${spec}, an input of this command; choose another path\n`);
    expect(fs.readFileSync(spec, 'utf8')).toBe(fs.readFileSync(path.join(proj, 'mine.rh'), 'utf8'));
  });

  it('replaces an existing .npy, but another file only with --force', () => {
    const ck = checkpoint();
    const dir = path.dirname(ck);
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'keep me');
    const r = rhc(['forward', ck, '--ids', '1,2', '--out', notes]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: --out ${notes} exists and is not a .npy file; rhc replaces only .npy files there (pass --force to replace it anyway)\n`);
    expect(fs.readFileSync(notes, 'utf8')).toBe('keep me');
    const ref = oracle(ck, 'gpt2-abs', [1, 2]);
    expect(rhc(['forward', ck, '--ids', '1,2', '--out', notes, '--force']).status).toBe(0);
    expect(relMaxDiff(readNpy(notes).data, ref)).toBeLessThan(1e-4);
    // now a .npy: replaced without --force, by the logits of the new run
    expect(rhc(['forward', ck, '--ids', '5', '--out', notes]).status).toBe(0);
    expect(relMaxDiff(readNpy(notes).data, oracle(ck, 'gpt2-abs', [5]))).toBeLessThan(1e-4);
    expect(fs.readdirSync(dir).sort()).toEqual(['ck', 'notes.txt']);
  });
});

describe('reads are bounded and of regular files only', () => {
  it('config.json as a link to /dev/zero or a FIFO, a FIFO model.safetensors, an rhc_spec at /dev/zero: prompt, clear errors', () => {
    const cases: [string, (ck: string) => void, string][] = [
      ['config.json -> /dev/zero', (ck) => (fs.rmSync(path.join(ck, 'config.json')), fs.symlinkSync('/dev/zero', path.join(ck, 'config.json'))), 'config.json: it is a device, not a regular file'],
      ['config.json FIFO', (ck) => (fs.rmSync(path.join(ck, 'config.json')), execFileSync('mkfifo', [path.join(ck, 'config.json')])), 'config.json: it is a FIFO, not a regular file'],
      ['model.safetensors FIFO', (ck) => (fs.rmSync(path.join(ck, 'model.safetensors')), execFileSync('mkfifo', [path.join(ck, 'model.safetensors')])), 'model.safetensors: it is a FIFO, not a regular file'],
      ['rhc_spec -> /dev/zero', (ck) => (fs.symlinkSync('/dev/zero', path.join(ck, 'zero.rh')), editConfig(ck, (c) => (c.rhc_spec = 'zero.rh'))), 'zero.rh, which is a device, not a spec file'],
    ];
    for (const [what, spoil, msg] of cases) {
      const ck = checkpoint();
      spoil(ck);
      const r = rhcWithin(20, ['forward', ck, '--ids', '1', '--out', path.join(path.dirname(ck), 'x.npy')]);
      expect(r.signal, what).toBeNull();
      expect(r.status, what).toBe(1);
      expect(r.stderr, what).toContain(msg);
      expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(r.seconds, what).toBeLessThan(10);
    }
  });

  it('rhc_spec must be a plain file name: absolute and ../ paths out of the checkpoint are refused', () => {
    const proj = writeFiles({ 'mine.rh': fs.readFileSync(path.join(ROOT, 'spec/lr.rh'), 'utf8') });
    const ck = checkpoint(path.join(proj, 'mine.rh'));
    for (const named of [path.join(proj, 'mine.rh'), path.relative(ck, path.join(proj, 'mine.rh'))]) {
      editConfig(ck, (c) => (c.rhc_spec = named));
      const r = rhc(['forward', ck, '--ids', '1', '--out', path.join(proj, 'x.npy')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`error: ${ck}/config.json: rhc_spec ${JSON.stringify(named)} is a path; it must be a plain file name, of a spec next to the checkpoint or in rhc's spec library\n`);
    }
  });
});

describe('names from specs are never plain-object keys', () => {
  it('a param and a config named __proto__ survive init-weights -> forward', () => {
    const proj = writeFiles({
      'proto.rh': `import "gpt2.rh"

config __proto__: float = 1.0
const proto_scale: float = __proto__

// GPT-2 with a logit bias named __proto__, scaled by the config __proto__.
module ProtoLM {
  transformer = GPT2Model(NoRope)
  param __proto__: f32[vocab_size] = normal(0.02)
  fn forward(ids: i32[B, S], pos: i32[S]) -> f32[B, S, vocab_size] {
    return transformer(ids, pos) @ transpose(transformer.wte.weight, [1, 0]) + proto_scale * __proto__
  }
}

model proto = ProtoLM()
`,
    });
    const ck = path.join(proj, 'ck');
    const init = rhc(['init-weights', path.join(proj, 'proto.rh'), '--out', ck, ...SMALL, '--set', '__proto__=3']);
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toContain(': 17 tensors,');

    const { header, weights } = readByHand(path.join(ck, 'model.safetensors'));
    expect(Object.keys(header).filter((k) => k !== '__metadata__')).toHaveLength(17);
    expect(Object.hasOwn(header, '__proto__')).toBe(true);
    expect(header['__proto__']).toMatchObject({ dtype: 'F32', shape: [64] });
    const config = JSON.parse(fs.readFileSync(path.join(ck, 'config.json'), 'utf8'));
    expect(Object.hasOwn(config, '__proto__')).toBe(true);
    expect(config['__proto__']).toBe(3);

    const ids = [7, 0, 63];
    const out = path.join(proj, 'logits.npy');
    const fwd = rhc(['forward', ck, '--ids', ids.join(','), '--out', out]);
    expect(fwd.status, fwd.stderr).toBe(0);
    // logits = GPT-2's + 3 * bias: the bias and the scale both came back from the files
    const ref = oracle(ck, 'gpt2-abs', ids);
    const bias = weights.get('__proto__')!;
    for (let t = 0; t < ids.length; t++) for (let v = 0; v < 64; v++) ref[t * 64 + v] += 3 * bias[v];
    expect(relMaxDiff(readNpy(out).data, ref)).toBeLessThan(1e-4);
  });
});

describe('a checkpoint whose config does not describe its weights fails at once', () => {
  it('n_layer=1000000 over one layer: a clear error within seconds from forward and compile --weights', () => {
    const ck = checkpoint();
    editConfig(ck, (c) => (c.n_layer = 1000000));
    const want = `error: ${ck}/config.json says n_layer=1000000, but the checkpoint '${ck}' has layers 0..0 (h.0 to h.0); the config does not describe these weights\n`;
    const dir = path.dirname(ck);
    for (const args of [
      ['forward', ck, '--ids', '1', '--out', path.join(dir, 'x.npy')],
      ['compile', 'spec/gpt2-abs.rh', '--target', 'onnx', '--weights', ck, '-o', path.join(dir, 'x.onnx')],
      ['compile', 'spec/gpt2-abs.rh', '--target', 'webgpu', '--weights', ck, '-o', path.join(dir, 'x-webgpu')],
    ]) {
      const r = rhcWithin(20, args);
      expect(r.stderr, args[0]).toBe(want);
      expect(r.status).toBe(1);
      // the bug was a 52 s run into an out-of-memory abort; a start-up of rhc is ~2 s, more on a loaded machine
      expect(r.seconds).toBeLessThan(15);
    }
    editConfig(ck, (c) => ((c.n_layer = 1), (c.vocab_size = 50257)));
    expect(rhc(['forward', ck, '--ids', '1', '--out', path.join(dir, 'x.npy')]).stderr).toContain('config.json says vocab_size=50257, but');
    expect(fs.readdirSync(dir)).toEqual(['ck']);
  });
});

describe('spec files travel with the checkpoint', () => {
  const MAIN = `import "gpt2.rh"
import "parts/my-rope.rh"

model mine = GPT2LMHeadModel(Rope = MyRope)
`;
  const PART = `import "gpt2.rh"
import "../helper.rh"

// LR's rotation, through a helper function of another file.
module MyRope {
  param frequencies: f32[n_head, D / 2] = randn()
  fn forward(x: f32[B, S, n_head, D], pos: i32[S]) -> f32[B, S, n_head, D] {
    return rotate_heads(x, pos, same(frequencies))
  }
}
`;
  const HELPER = `fn same(x: f32[...]) -> f32[...] {
  return x
}
`;

  it('a multi-file spec is copied whole, so the checkpoint loads after the spec folder is gone', () => {
    const proj = writeFiles({ 'main.rh': MAIN, 'parts/my-rope.rh': PART, 'helper.rh': HELPER });
    const ck = path.join(tempDir(), 'ck');
    const init = rhc(['init-weights', path.join(proj, 'main.rh'), '--out', ck, ...SMALL]);
    expect(init.status, init.stderr).toBe(0);
    expect(fs.readdirSync(ck, { recursive: true }).map(String).sort()).toEqual(['config.json', 'helper.rh', 'main.rh', 'model.safetensors', 'parts', path.join('parts', 'my-rope.rh')]);
    fs.rmSync(proj, { recursive: true });

    const ids = [2, 9, 40, 11];
    const out = path.join(path.dirname(ck), 'logits.npy');
    const r = rhc(['forward', ck, '--ids', ids.join(','), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(relMaxDiff(readNpy(out).data, oracle(ck, 'lr', ids))).toBeLessThan(1e-4);
  });

  it('an import from outside the spec\'s folder is refused before anything is written', () => {
    const root = writeFiles({ 'proj/main.rh': MAIN.replace('parts/my-rope.rh', '../shared/my-rope.rh'), 'shared/my-rope.rh': PART.replace('../helper.rh', 'helper.rh'), 'shared/helper.rh': HELPER });
    const ck = path.join(root, 'ck');
    const r = rhc(['init-weights', path.join(root, 'proj/main.rh'), '--out', ck, ...SMALL]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: ${path.join(root, 'proj/main.rh')} imports ${path.join(root, 'shared/my-rope.rh')}, which is outside the spec's directory ${path.join(root, 'proj')}; a checkpoint carries its spec's files at their paths relative to the spec, so move the imported file beside the spec (or below it)\n`);
    expect(fs.existsSync(ck)).toBe(false);
  });
});

describe('weights that cannot be a checkpoint', () => {
  it('trailing bytes and float data tagged I32 are refused; NaN and Inf weights load with one warning per tensor', () => {
    const ck = checkpoint();
    const file = path.join(ck, 'model.safetensors');
    const clean = fs.readFileSync(file);
    const { header, headerLength } = readByHand(file);
    const dataStart = 8 + headerLength;
    const dataBytes = clean.length - dataStart;
    const out = path.join(path.dirname(ck), 'x.npy');

    fs.writeFileSync(file, Buffer.concat([clean, Buffer.from([1, 2, 3, 4])]));
    const trailing = rhc(['forward', ck, '--ids', '1', '--out', out]);
    expect(trailing.status).toBe(1);
    expect(trailing.stderr).toBe(`error: ${file}: 4 trailing bytes after the last tensor (the header describes ${dataBytes} data bytes, the file holds ${dataBytes + 4}); the header does not describe this file\n`);

    const key = '"transformer.ln_f.bias":{"dtype":"F32"';
    const at = clean.subarray(8, dataStart).toString('latin1').indexOf(key);
    expect(at).toBeGreaterThan(0);
    const tagged = Buffer.from(clean);
    tagged.write('I32', 8 + at + key.length - 4, 'latin1');
    fs.writeFileSync(file, tagged);
    const i32 = rhc(['forward', ck, '--ids', '1', '--out', out]);
    expect(i32.status).toBe(1);
    expect(i32.stderr).toBe(`error: ${file}: tensor 'transformer.ln_f.bias' is stored as I32, an integer dtype; a weight must be F32, F16, BF16 or F64\n`);

    const nan = Buffer.from(clean);
    const lnf = dataStart + header['transformer.ln_f.weight'].data_offsets[0];
    nan.writeFloatLE(NaN, lnf);
    nan.writeFloatLE(NaN, lnf + 20);
    nan.writeFloatLE(-Infinity, dataStart + header['transformer.wte.weight'].data_offsets[0] + 4);
    fs.writeFileSync(file, nan);
    const warned = rhc(['forward', ck, '--ids', '1', '--out', out]);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stderr.trim().split('\n').sort()).toEqual([
      `warning: ${file}: tensor 'transformer.ln_f.weight' has 2 non-finite value(s) (NaN or Inf) among 16`,
      `warning: ${file}: tensor 'transformer.wte.weight' has 1 non-finite value(s) (NaN or Inf) among 1,024`,
    ]);
    expect(readNpy(out).data.every(Number.isNaN)).toBe(true); // ln_f's NaN reaches every logit
  });
});

describe('generate validates every option before any output', () => {
  it('a seed beyond 2^53 is a usage error, and nothing is printed', () => {
    const ck = checkpoint();
    const r = rhc(['generate', ck, '--prompt', 'Hello', '--max-new-tokens', '2', '--seed', String(2n ** 70n)]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--seed');
  });
});
