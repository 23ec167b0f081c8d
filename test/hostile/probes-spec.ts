// Hostile specs: seeded mutants of the seed specs (at tiny dims) run through `check`, `ir` and
// `compile`, and the cases issue 7 names one by one. A mutant may be a valid spec or not, so
// its expectation is "exit 0, or exit 1 with located diagnostics, never a crash"; a case whose
// input is known to be wrong must exit 1 (exit 0 is a silent wrong result).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Expect, Probe } from './harness.ts';
import { rng, writeTinySpecs } from './fixtures.ts';
import { parseSafetensors } from './formats.ts';

const VARIANTS = ['gp-norm', 'gp', 'lr', 'lr-norm', 'rope', 'gpt2-abs'];
const ANY: Expect = { exit: [0, 1] };
const BAD: Expect = { exit: [1] };
const located = (what: RegExp | string = ''): Expect => ({ exit: [1], stderr: new RegExp(`:\\d+:\\d+: error: .*${typeof what === 'string' ? what : what.source}`) });

// ------------------------------------------------------------------ mutation operators

const TOKEN = /\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\*\*|->|=>|\.\.\.|\s+|[\s\S]/g;
const HOSTILE_NUMBERS = ['0', '-1', '1e30', '(2 ** 1024)', '(1.0 / 0.0)', '9007199254740993', '1e-400', '0.0', '-0.0', '4294967296', '99999999999999999999999', '0.5', '3'];
const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'x'.repeat(10_000), 'B', 'S', 'D', 'n_embd', 'forward', 'gelu_new'];
const KEYWORDS = ['module', 'fn', 'let', 'for', 'in', 'param', 'config', 'const', 'dim', 'import', 'return', 'model', 'int', 'float', 'f32', 'i32'];
const STRINGS = ['"/dev/zero"', '"../../../../etc/passwd"', '"gpt2.rh/../gpt2.rh"', '""', `"${'a'.repeat(5000)}.rh"`, '"gp.rh"', '"main.rh"', '"\\u0000.rh"'];
const PUNCT = ['(', ')', '[', ']', '{', '}', ',', ':', '=', '.', '...', '->', '=>', '*', '**', '@', '-', '/', '"'];

type Mutator = (text: Buffer, next: () => number) => Buffer;
const pick = <T>(xs: readonly T[], next: () => number): T => xs[Math.floor(next() * xs.length)];
const tokens = (b: Buffer) => b.toString('utf8').match(TOKEN) ?? [];
const solid = (ts: string[]) => ts.map((t, i) => (/^\s+$/.test(t) ? -1 : i)).filter((i) => i >= 0);

function onToken(filter: (t: string) => boolean, replace: (t: string, next: () => number) => string): Mutator {
  return (b, next) => {
    const ts = tokens(b);
    const idx = solid(ts).filter((i) => filter(ts[i]));
    if (idx.length === 0) return b;
    const i = pick(idx, next);
    ts[i] = replace(ts[i], next);
    return Buffer.from(ts.join(''));
  };
}

function insertAt(b: Buffer, next: () => number, bytes: Buffer): Buffer {
  const at = Math.floor(next() * (b.length + 1));
  return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
}

const lines = (b: Buffer) => b.toString('utf8').split('\n');

const MUTATORS: Record<string, Mutator> = {
  'delete a token': onToken(() => true, () => ''),
  'duplicate a token': onToken(() => true, (t) => `${t} ${t}`),
  'swap two tokens': (b, next) => {
    const ts = tokens(b);
    const s = solid(ts);
    if (s.length < 2) return b;
    const k = Math.floor(next() * (s.length - 1));
    [ts[s[k]], ts[s[k + 1]]] = [ts[s[k + 1]], ts[s[k]]];
    return Buffer.from(ts.join(''));
  },
  'change a number': onToken((t) => /^\d/.test(t), (_, next) => pick(HOSTILE_NUMBERS, next)),
  'rename an identifier': onToken((t) => /^[A-Za-z_]/.test(t) && !KEYWORDS.includes(t), (_, next) => pick(HOSTILE_NAMES, next)),
  'change a keyword': onToken((t) => KEYWORDS.includes(t), (_, next) => pick(KEYWORDS, next)),
  'change a string': onToken((t) => t.startsWith('"'), (_, next) => pick(STRINGS, next)),
  'insert punctuation': (b, next) => insertAt(b, next, Buffer.from(pick(PUNCT, next))),
  'nest a number deeply': onToken((t) => /^\d/.test(t), (t, next) => {
    const n = pick([70, 300, 1000, 5000], next);
    return '('.repeat(n) + t + ')'.repeat(n);
  }),
  'truncate': (b, next) => b.subarray(0, Math.floor(next() * b.length)),
  'insert random bytes': (b, next) => insertAt(b, next, Buffer.from(Array.from({ length: 1 + Math.floor(next() * 16) }, () => Math.floor(next() * 256)))),
  'insert NUL': (b, next) => insertAt(b, next, Buffer.from([0])),
  'prepend a BOM': (b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]),
  'insert invalid UTF-8': (b, next) => insertAt(b, next, Buffer.from(pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]], next))),
  'delete a line': (b, next) => {
    const ls = lines(b);
    ls.splice(Math.floor(next() * ls.length), 1);
    return Buffer.from(ls.join('\n'));
  },
  'duplicate a line': (b, next) => {
    const ls = lines(b);
    const i = Math.floor(next() * ls.length);
    ls.splice(i, 0, ls[i]);
    return Buffer.from(ls.join('\n'));
  },
  'repeat a line 500 times': (b, next) => {
    const ls = lines(b);
    const i = Math.floor(next() * ls.length);
    ls.splice(i, 0, ...Array(500).fill(ls[i]));
    return Buffer.from(ls.join('\n'));
  },
};

/** Mutant `i`: a seed file changed by 1-3 operators, and the command that runs it. */
function mutant(i: number): Probe {
  const next = rng(1000 + i);
  const variant = pick(VARIANTS, next);
  // gpt2.rh holds most of the language; a variant file is small but is what a user writes
  const target = next() < 0.55 ? 'gpt2.rh' : `${variant}.rh`;
  const ops = Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(Object.keys(MUTATORS), next));
  const r = next();
  const command = r < 0.6 ? 'check' : r < 0.85 ? 'ir' : 'compile';
  return {
    family: 'spec',
    name: `mutant ${i}: ${command} ${variant}.rh with ${target} mutated (${ops.join(', ')})`,
    setup: (dir) => {
      writeTinySpecs(dir);
      let text: Buffer = fs.readFileSync(path.join(dir, target));
      for (const op of ops) text = MUTATORS[op](text, next);
      fs.writeFileSync(path.join(dir, target), text);
    },
    args: (dir) => {
      const file = path.join(dir, `${variant}.rh`);
      if (command === 'check') return ['check', file];
      if (command === 'ir') return ['ir', file, '--after', 'all'];
      return ['compile', file, '--target', 'webgpu', '-o', path.join(dir, 'out')];
    },
    expect: ANY,
    writes: ['out', /^\.out\.rhc-/],
  };
}

// ------------------------------------------------------------------ the issue's own cases

/** A probe checking `main.rh` (plus other files) in a tree with the tiny seed specs. */
function specCase(name: string, files: Record<string, string | Buffer>, expect: Expect, extra: string[] = [], timeoutMs?: number): Probe {
  return {
    family: 'spec',
    name,
    setup: (dir) => {
      writeTinySpecs(dir);
      for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    },
    args: (dir) => ['check', path.join(dir, 'main.rh'), ...extra],
    expect,
    timeoutMs,
  };
}

const MODEL = 'import "gpt2.rh"\n';
/** `n` nested loops over `blocks` blocks: blocks^n applications (2^500 must be refused, not attempted). */
const nestedFors = (n: number, blocks: number) => {
  let body = 'x = block(x, pos)';
  for (let k = 0; k < n; k++) body = `for block in h {\n${body}\n}`;
  return `${MODEL}module Deep {\n  h = [${blocks}] Block(NoRope)\n  fn forward(x: f32[B, S, n_embd], pos: i32[S]) -> f32[B, S, n_embd] {\n${body}\n    return x\n  }\n}\nmodel deep = Deep()\n`;
};
const bigSpec = (bytes: number) => {
  const line = (k: number) => `const c${k}: int = ${k} + 1\n`;
  const parts: string[] = [MODEL];
  let size = MODEL.length;
  for (let k = 0; size < bytes; k++) {
    parts.push(line(k));
    size += line(k).length;
  }
  return parts.join('');
};

function issueCases(): Probe[] {
  const gp = (extra: string[], expect: Expect, name: string): Probe => ({
    family: 'spec',
    name,
    setup: (dir) => writeTinySpecs(dir),
    args: (dir) => ['check', path.join(dir, 'gp.rh'), ...extra],
    expect,
  });
  return [
    specCase('300 nested parentheses in a const', { 'main.rh': `${MODEL}const c: int = ${'('.repeat(300)}1${')'.repeat(300)}\n` }, ANY),
    specCase('300 nested parentheses in a config', { 'main.rh': `${MODEL}config q: float = ${'('.repeat(300)}1.0${')'.repeat(300)}\n` }, ANY),
    specCase('300 nested parentheses in a function', { 'main.rh': `${MODEL}fn f(x: f32[...]) -> f32[...] {\n  return ${'('.repeat(300)}x${')'.repeat(300)}\n}\nconst c: int = 1\n` }, ANY),
    specCase('1000 nested parentheses', { 'main.rh': `${MODEL}const c: int = ${'('.repeat(1000)}1${')'.repeat(1000)}\n` }, ANY),
    specCase('5000 nested brackets', { 'main.rh': `${MODEL}const c: int = ${'['.repeat(5000)}\n` }, located()),
    specCase('500 nested for blocks over one block', { 'main.rh': nestedFors(500, 1) }, ANY),
    specCase('500 nested for blocks over two blocks (2^500 applications)', { 'main.rh': nestedFors(500, 2) }, ANY),
    specCase('a 10,000-term sum', { 'main.rh': `${MODEL}const c: int = ${Array(10_000).fill('1').join(' + ')}\n` }, ANY),
    specCase('a 10,000-factor power tower', { 'main.rh': `${MODEL}const c: float = ${Array(10_000).fill('1.0').join(' ** ')}\n` }, ANY),
    specCase('a module that contains itself', { 'main.rh': `${MODEL}module A {\n  a = A()\n}\nmodel m = A()\n` }, located()),
    specCase('two modules that contain each other', { 'main.rh': `${MODEL}module A {\n  b = P()\n}\nmodule P {\n  a = A()\n}\nmodel m = A()\n` }, located()),
    specCase('a function that calls itself', { 'main.rh': `${MODEL}fn f(x: f32[...]) -> f32[...] {\n  return f(x)\n}\nconst c: int = 1\n` }, ANY),
    specCase('a 5 MB spec', { 'main.rh': bigSpec(5 * 2 ** 20) }, ANY, [], 30_000),
    specCase('a 50 MB spec', { 'main.rh': bigSpec(50 * 2 ** 20) }, ANY, [], 30_000),
    specCase('config int = 1e30', { 'main.rh': `${MODEL}config big: int = 1e30\n` }, located('big|1e30|int')),
    specCase('config int = 2^53 + 1', { 'main.rh': `${MODEL}config big: int = 9007199254740993\n` }, located()),
    specCase('2 ** 1024 as a dimension', { 'main.rh': `${MODEL}const N: int = 2 ** 1024\nmodule M {\n  param w: f32[N] = zeros()\n}\nmodel m = M()\n` }, located()),
    specCase('1.0 / 0.0 as a dimension', { 'main.rh': `${MODEL}module M {\n  param w: f32[1.0 / 0.0] = zeros()\n}\nmodel m = M()\n` }, located()),
    specCase('f32[-4]', { 'main.rh': `${MODEL}module M {\n  param w: f32[-4] = zeros()\n}\nmodel m = M()\n` }, located()),
    specCase('a 10^9-layer stack', { 'main.rh': `${MODEL}module M {\n  h = [1000000000] Block(NoRope)\n}\nmodel m = M()\n` }, located()),
    specCase('a 100,000-character identifier', { 'main.rh': `${MODEL}const ${'v'.repeat(100_000)}: int = 1\n` }, ANY),
    specCase('NUL bytes', { 'main.rh': Buffer.concat([Buffer.from(MODEL), Buffer.alloc(64)]) }, located()),
    specCase('invalid UTF-8', { 'main.rh': Buffer.concat([Buffer.from(MODEL + 'const c: int = 1 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('\n')]) }, located()),
    specCase('a BOM', { 'main.rh': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(MODEL + 'const c: int = 1\n')]) }, ANY),
    specCase('config named __proto__', { 'main.rh': `${MODEL}config __proto__: int = 3\nconst c: int = __proto__ + 1\n` }, ANY),
    specCase('module and param named constructor', { 'main.rh': `${MODEL}module constructor {\n  param __proto__: f32[4] = zeros()\n}\nmodel m = constructor()\n` }, ANY),
    specCase('import cycle through itself', { 'main.rh': 'import "main.rh"\nconst c: int = 1\n' }, located()),
    gp(['--set', 'n_head=-4'], { exit: [1, 2], stderr: /n_head/, notStderr: /NaN/ }, '--set n_head=-4'),
    gp(['--set', 'n_layer=1e30'], { exit: [1, 2], stderr: /n_layer/ }, '--set n_layer=1e30'),
    gp(['--set', 'n_layer=1000000000'], { exit: [1, 2], stderr: /n_layer|layers|too many|steps|more than/ }, '--set n_layer=1000000000'),
    gp(['--set', 'n_embd=0'], { exit: [1, 2], stderr: /n_embd|divide|zero/ }, '--set n_embd=0'),
    gp(['--set', '__proto__=1'], { exit: [0, 1, 2] }, '--set __proto__=1'),
    gp(['--set', 'constructor=1'], { exit: [0, 1, 2] }, '--set constructor=1'),
    {
      family: 'spec',
      name: 'ir --passes kv-cache,kv-cache',
      setup: (dir) => writeTinySpecs(dir),
      args: (dir) => ['ir', path.join(dir, 'gp.rh'), '--passes', 'kv-cache,kv-cache'],
      expect: { exit: [0, 1, 2] },
    },
    {
      family: 'spec',
      name: 'ir with both --after and --passes',
      setup: (dir) => writeTinySpecs(dir),
      args: (dir) => ['ir', path.join(dir, 'gp.rh'), '--after', 'all', '--passes', 'cse'],
      expect: { exit: [2], stderr: /--after|--passes/ },
    },
    ...[
      ['--max-batch 1000000000', ['--max-batch', '1000000000']],
      ['vocab 67108865 x 64', ['--set', 'vocab_size=67108865', '--set', 'n_embd=64']],
      ['n_positions 1e9', ['--set', 'n_positions=1000000000']],
    ].map(([name, extra]): Probe => ({
      family: 'spec',
      name: `compile --target webgpu past u32: ${name}`,
      setup: (dir) => writeTinySpecs(dir),
      args: (dir) => ['compile', path.join(dir, 'gpt2-abs.rh'), '--target', 'webgpu', '-o', path.join(dir, 'out'), ...(extra as string[])],
      expect: { exit: [1, 2] },
      writes: ['out', /^\.out\.rhc-/],
      timeoutMs: 30_000,
    })),
    {
      family: 'spec',
      name: 'compile --target onnx past 2 GB: vocab 67108865 x 64',
      setup: (dir) => writeTinySpecs(dir),
      args: (dir) => ['compile', path.join(dir, 'gpt2-abs.rh'), '--target', 'onnx', '-o', path.join(dir, 'm.onnx'), '--set', 'vocab_size=67108865', '--set', 'n_embd=64'],
      expect: { exit: [1, 2] },
      writes: [/^m\.onnx/, /^\.m\.onnx/],
      timeoutMs: 30_000,
    },
    ...devices(),
    protoParams(),
  ];
}

/** Files that are not regular: reading them must be refused, not waited on or followed forever. */
function devices(): Probe[] {
  const mkfifo = (file: string) => execFileSync('mkfifo', [file]);
  const dev = (name: string, setup: (dir: string) => void, file: string, what: RegExp): Probe => ({
    family: 'spec',
    name,
    setup: (dir) => {
      writeTinySpecs(dir);
      setup(dir);
    },
    args: (dir) => ['check', path.isAbsolute(file) ? file : path.join(dir, file)],
    expect: { exit: [1], stderr: what },
    timeoutMs: 10_000,
  });
  return [
    dev('check /dev/zero', () => {}, '/dev/zero', /\/dev\/zero/),
    dev('check a FIFO', (d) => mkfifo(path.join(d, 'fifo.rh')), 'fifo.rh', /fifo\.rh/),
    dev('check a directory named x.rh', (d) => fs.mkdirSync(path.join(d, 'dir.rh')), 'dir.rh', /dir\.rh/),
    dev('check a symlink to /dev/zero', (d) => fs.symlinkSync('/dev/zero', path.join(d, 'zero.rh')), 'zero.rh', /zero\.rh/),
    dev('a symlink import to /dev/zero', (d) => {
      fs.symlinkSync('/dev/zero', path.join(d, 'zero.rh'));
      fs.writeFileSync(path.join(d, 'main.rh'), 'import "zero.rh"\nimport "gpt2.rh"\nconst c: int = 1\n');
    }, 'main.rh', /zero\.rh/),
    dev('an import of a FIFO', (d) => {
      mkfifo(path.join(d, 'fifo.rh'));
      fs.writeFileSync(path.join(d, 'main.rh'), 'import "fifo.rh"\nconst c: int = 1\n');
    }, 'main.rh', /fifo\.rh/),
    dev('an import of a symlink loop', (d) => {
      fs.symlinkSync('loop.rh', path.join(d, 'loop.rh'));
      fs.writeFileSync(path.join(d, 'main.rh'), 'import "loop.rh"\nconst c: int = 1\n');
    }, 'main.rh', /loop\.rh/),
  ];
}

/** `__proto__` as a parameter name: init-weights must write every tensor it reports, or refuse the name. */
function protoParams(): Probe {
  return {
    family: 'spec',
    name: 'init-weights with parameters named __proto__ and constructor',
    setup: (dir) => {
      writeTinySpecs(dir);
      fs.writeFileSync(
        path.join(dir, 'main.rh'),
        `${MODEL}module Odd {\n  param __proto__: f32[4] = ones()\n  param constructor: f32[3] = zeros()\n  fn forward(x: f32[4]) -> f32[4] {\n    return x * __proto__\n  }\n}\nmodel odd = Odd()\n`,
      );
    },
    args: (dir) => ['init-weights', path.join(dir, 'main.rh'), '--out', path.join(dir, 'ck')],
    expect: {
      exit: [0, 1],
      output: (dir, r) => {
        const claimed = Number(/(\d+) tensors/.exec(r.stdout)?.[1]);
        const st = parseSafetensors(fs.readFileSync(path.join(dir, 'ck/model.safetensors')));
        const names = [...st.header.keys()];
        if (!names.includes('__proto__') || !names.includes('constructor')) return `model.safetensors holds ${JSON.stringify(names)}: a parameter went missing`;
        if (claimed !== names.length) return `reported ${claimed} tensors, wrote ${names.length}`;
        return undefined;
      },
    },
    writes: ['ck', /^\.ck\.rhc-/],
  };
}

export const MUTANTS = 150;

export function specProbes(): Probe[] {
  return [...Array.from({ length: MUTANTS }, (_, i) => mutant(i)), ...issueCases()];
}
