// No silent wrong numbers at compile time: integers stay exact (|n| <= 2^53 - 1), float
// constants stay finite, tensor dimensions are positive, and a config value that breaks these,
// from the spec, `--set` or config.json, is an error that says where it came from.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFile, compileModel } from '../../src/dsl/compile.ts';
import type { ConfigOverride } from '../../src/dsl/config.ts';
import type { Diagnostic } from '../../src/dsl/diagnostics.ts';
import { diagnose, ROOT, writeFiles } from '../helpers/rh.ts';

const MAX = Number.MAX_SAFE_INTEGER; // 9007199254740991
const show = (ds: readonly Diagnostic[]) => ds.map((d) => (d.loc ? `${path.basename(d.loc.file)}:${d.loc.line}:${d.loc.column}: ${d.message}` : d.message));
const set = (name: string, value: string): ConfigOverride => ({ name, value, origin: '--set', strict: true });
const fromJson = (name: string, value: number): ConfigOverride => ({ name, value, origin: 'config.json', strict: false });

describe('integer literals and arithmetic', () => {
  it('rejects an integer literal beyond 2^53 - 1 at the literal, and takes 2^53 - 1 itself', () => {
    expect(diagnose({ 'main.rh': `const a: int = ${MAX}\nconst b: int = 9007199254740993\n` })).toEqual([
      `main.rh:2:16: integer 9007199254740993 is too large: integers must be at most 2^53 - 1 = ${MAX}`,
    ]);
  });

  it('rejects a float literal that overflows to infinity', () => {
    expect(diagnose({ 'main.rh': 'const a = 1e308\nconst b = 1e400\n' })).toEqual(['main.rh:2:11: number 1e400 is too large: it overflows to infinity']);
  });

  it('rejects integer arithmetic that leaves the exact range, so 2 ** 1024 is no dimension', () => {
    const d = diagnose({
      'main.rh': `const big: int = 2 ** 1024\nconst total: int = ${MAX} + 1\nconst prod: int = 3 * 4503599627370496\nconst ok: int = 2 ** 52 + (2 ** 52 - 1)\nfn f(x: f32[big]) -> f32[big] {\n  return x\n}\n`,
    });
    expect(d).toEqual([
      `main.rh:1:18: 2 ** 1024 is too large for an integer (beyond 2^53 - 1 = ${MAX})`,
      `main.rh:2:20: ${MAX} + 1 is too large for an integer (beyond 2^53 - 1 = ${MAX})`,
      `main.rh:3:19: 3 * 4503599627370496 is too large for an integer (beyond 2^53 - 1 = ${MAX})`,
    ]);
  });

  it('rejects integer division by zero, naming the divisor', () => {
    expect(diagnose({ 'main.rh': 'const k: int = 0\nconst a: int = 4 / 0\nconst b: int = 4 / k\n' })).toEqual([
      'main.rh:2:18: division by zero',
      'main.rh:3:18: division by zero (k is 0)',
    ]);
  });
});

describe('float constants', () => {
  it('rejects compile-time arithmetic that gives Infinity or NaN, at the expression', () => {
    const d = diagnose({
      'main.rh': 'const a = 1.0 / 0.0\nconst b = 2.0 ** 2000\nconst c = 1e308 * 10.0\nconst d = log(0.0)\nconst e = sqrt(-1.0)\nconst f = exp(1000.0)\nconst g = 2.0 ** 0.5\n',
    });
    expect(d).toEqual([
      'main.rh:1:15: division by zero',
      'main.rh:2:11: 2 ** 2000 is Infinity, not a finite number',
      'main.rh:3:11: 1e+308 * 10 is Infinity, not a finite number',
      'main.rh:4:11: log(0) is -Infinity, not a finite number',
      'main.rh:5:11: sqrt(-1) is NaN, not a finite number',
      'main.rh:6:11: exp(1000) is Infinity, not a finite number',
    ]);
  });
});

describe('tensor dimensions', () => {
  it('rejects a negative or zero dimension in a type, at the dimension', () => {
    const d = diagnose({ 'main.rh': 'fn f(x: f32[-4]) -> f32[-4] {\n  return x\n}\nconst n: int = 0\nfn g(x: f32[2, n]) -> f32[2, n] {\n  return x\n}\n' });
    expect(d).toEqual([
      'main.rh:1:13: tensor dimension must be a positive integer, got -4',
      'main.rh:5:16: tensor dimension n must be a positive integer, got 0',
    ]);
  });

  it('rejects non-positive sizes in a reshape, a table and a let annotation', () => {
    const text = [
      'const n: int = -2',
      'fn f(x: f32[4]) -> f32[4] {',
      '  let a = reshape(x, [n, -2])',
      '  let t = [i: n] => 1.0',
      '  let b: f32[n] = x',
      '  return x',
      '}',
      '',
    ].join('\n');
    expect(diagnose({ 'main.rh': text })).toEqual([
      'main.rh:3:23: tensor dimension n must be a positive integer, got -2',
      'main.rh:4:15: tensor dimension n must be a positive integer, got -2',
      'main.rh:5:14: tensor dimension n must be a positive integer, got -2',
    ]);
  });
});

describe('config values', () => {
  const spec = 'config n: int = 4\nconfig eps: float = 1e-5\n';
  const check = (overrides: ConfigOverride[], text = spec) => show(checkFile(path.join(writeFiles({ 'main.rh': text }), 'main.rh'), { overrides }).diagnostics);

  it('rejects a float default for an int config (config n: int = 1e30)', () => {
    expect(check([], 'config n: int = 1e30\nconfig m: int = 1e3\n')).toEqual([
      'main.rh:1:17: config n is declared int: its default is float 1e+30',
      'main.rh:2:17: config m is declared int: its default is float 1000',
    ]);
  });

  it('rejects --set values that are not exact integers, naming the flag', () => {
    expect(check([set('n', '1.5')])).toEqual(["--set: config n (int): expected an integer, got '1.5'"]);
    expect(check([set('n', '9007199254740993')])).toEqual([`--set: config n (int): expected an integer, got '9007199254740993', beyond 2^53 - 1 = ${MAX}`]);
    expect(check([set('eps', '1e999')])).toEqual(["--set: config eps (float): expected a number, got '1e999'"]);
    expect(check([set('n', String(MAX))])).toEqual([]);
  });

  it('rejects config.json values that are not exact integers, naming the file', () => {
    expect(check([fromJson('n', 2.5)])).toEqual(["config.json: config n (int): expected an integer, got '2.5'"]);
    expect(check([fromJson('n', 1e30)])).toEqual([`config.json: config n (int): expected an integer, got '1e+30', beyond 2^53 - 1 = ${MAX}`]);
  });

  it('a negative or zero n_head in GPT-2 is reported where it sizes a type, before anything divides by it', () => {
    const gp = path.join(ROOT, 'spec/gp.rh');
    const small = [set('n_layer', '1'), set('n_embd', '64'), set('vocab_size', '64'), set('n_positions', '16')];
    const negative = show(compileModel(gp, { overrides: [...small, set('n_head', '-4')] }).diagnostics);
    expect(negative.length).toBeGreaterThan(0);
    for (const d of negative) expect(d).toMatch(/^gpt2\.rh:\d+:\d+: tensor dimension n_head must be a positive integer, got -4$/);
    const zero = show(compileModel(gp, { overrides: [...small, set('n_head', '0')] }).diagnostics);
    expect(zero[0]).toMatch(/^gpt2\.rh:\d+:\d+: division by zero \(n_head is 0\)$/);
    for (const d of [...negative, ...zero]) expect(d).not.toMatch(/NaN|Infinity/);
  });
});
