// Hostile specs end in a located diagnostic, promptly: nesting, expression size, recursion,
// runaway elaboration and file size each have a limit (src/dsl/limits.ts) that is reported at
// the text crossing it, never a stack overflow (exit 70) or an exhausted heap.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkFile } from '../../src/dsl/compile.ts';
import { renderDiagnostic, type SourceLocation } from '../../src/dsl/diagnostics.ts';
import { Elaborator } from '../../src/dsl/elaborate.ts';
import { MAX_CALL_DEPTH, MAX_EXPR_DEPTH, MAX_NESTING, MAX_SPEC_BYTES } from '../../src/dsl/limits.ts';
import { POISON } from '../../src/dsl/values.ts';
import { diagnose, rhc, writeFiles } from '../helpers/rh.ts';

const NESTED = `nested more than ${MAX_NESTING} deep (brackets, parentheses and blocks)`;
const TOO_DEEP = `expression too deep: more than ${MAX_EXPR_DEPTH} nested operations, calls and brackets (split it with 'let')`;
const fn = (body: string) => `fn f(a: f32[4]) -> f32[4] {\n${body}\n}\n`;

describe('nesting and expression size', () => {
  it('reports 300 nested parentheses at the one that crosses the limit', () => {
    const head = 'const c: int = ';
    const d = diagnose({ 'main.rh': `${head}${'('.repeat(300)}1${')'.repeat(300)}\n` });
    // The 65th '(' is the first too many: column = head + 64 before it + 1.
    expect(d).toEqual([`main.rh:1:${head.length + MAX_NESTING + 1}: ${NESTED}`]);
  });

  it('accepts nesting right at the limit', () => {
    expect(diagnose({ 'main.rh': `const c: int = ${'('.repeat(MAX_NESTING)}1${')'.repeat(MAX_NESTING)}\n` })).toEqual([]);
  });

  it('reports 500 nested for blocks at the line that crosses the limit', () => {
    const loops = 'for b in [1] {\n'.repeat(500) + '}\n'.repeat(500);
    const d = diagnose({ 'main.rh': `fn f(x: f32[4]) -> f32[4] {\n${loops}return x\n}\n` });
    // Line 1 opens the body; the for on line k+1 opens level k+1, its `[1]` (column 10) going one deeper.
    expect(d).toEqual([`main.rh:${MAX_NESTING + 1}:10: ${NESTED}`]);
  });

  it('reports a 10,000-term sum at the operator that crosses the limit', () => {
    const d = diagnose({ 'main.rh': fn(`  return ${Array(10_000).fill('a').join(' + ')}`) });
    // `  return a + a ...`: the n-th '+' is at column 12 + 4 (n - 1); the 257th is too many.
    expect(d).toEqual([`main.rh:2:${12 + 4 * MAX_EXPR_DEPTH}: ${TOO_DEEP}`]);
  });

  it('bounds every recursive shape of expression, not only sums', () => {
    const n = 2000;
    const cases = {
      minus: `const c: int = ${'-'.repeat(n)}1\n`,
      power: `const c: float = ${Array(n).fill('1.0').join(' ** ')}\n`,
      member: `const c: int = ${Array(n).fill('a').join('.')}\n`,
      calls: `const c: int = f${'()'.repeat(n)}\n`,
      tables: fn(`  let t = ${'[i: 1] => '.repeat(n)}1.0\n  return a`),
      mixed: `const c: float = ${'(1.0 + 1.0 * 2.0 - '.repeat(60)}1.0${' * 2.0 / 1.0)'.repeat(60)}\n`,
    };
    for (const [name, text] of Object.entries(cases)) {
      const d = diagnose({ 'main.rh': text });
      expect(d, name).toHaveLength(1);
      expect(d[0], name).toMatch(new RegExp(`^main\\.rh:\\d+:\\d+: (${TOO_DEEP.replace(/[()']/g, '.')}|${NESTED.replace(/[()]/g, '.')})$`));
    }
  });

  it('checks long expressions below the limit without running out of stack', () => {
    const sum = Array(MAX_EXPR_DEPTH - 1).fill('a').join(' + ');
    expect(diagnose({ 'main.rh': fn(`  return ${sum}`) })).toEqual([]);
    // Each level of 60 parentheses holds one more operator: about 180 levels deep in all.
    let e = 'a';
    for (let i = 0; i < 60; i++) e = `(${e} * 1.0 + 0.0)`;
    expect(diagnose({ 'main.rh': fn(`  return ${e}`) })).toEqual([]);
  });

  it('quotes a window of a long line, with the caret under the offending text', () => {
    const files = { 'main.rh': fn(`  return ${Array(10_000).fill('a').join(' + ')}`) };
    const r = checkFile(path.join(writeFiles(files), 'main.rh'));
    const [, quoted, caret] = renderDiagnostic(r.diagnostics[0], r.sources).split('\n');
    expect(quoted.length).toBeLessThan(200);
    expect(quoted[caret.indexOf('^')]).toBe('+');
  });

  it('shows the first 100 errors of a garbled file and counts the rest', () => {
    const d = diagnose({ 'main.rh': '#a '.repeat(500) });
    expect(d).toHaveLength(101);
    expect(d[0]).toBe("main.rh:1:1: unexpected character '#'");
    expect(d[100]).toMatch(/main\.rh: 400 more errors not shown$/);
  });
});

describe('recursion', () => {
  it('reports a module that instantiates itself, at the instantiation', () => {
    expect(diagnose({ 'main.rh': 'module A { a = A() }\n' })).toEqual(['main.rh:1:12: module A instantiates itself: A -> A']);
  });

  it('reports indirect module recursion once, naming the cycle', () => {
    expect(diagnose({ 'main.rh': 'module A { b = B() }\nmodule B { a = A() }\n' })).toEqual(['main.rh:2:12: module A instantiates itself: A -> B -> A']);
  });

  it('reports a function that calls itself, directly or through another', () => {
    const f = 'fn f(x: f32[4]) -> f32[4] {\n  return f(x)\n}\n';
    const gh = 'fn g(x: f32[4]) -> f32[4] {\n  return h(x)\n}\nfn h(x: f32[4]) -> f32[4] {\n  return g(x)\n}\n';
    expect(diagnose({ 'main.rh': f + gh })).toEqual(['main.rh:2:10: f calls itself: f -> f', 'main.rh:8:10: g calls itself: g -> h -> g']);
  });

  it('reports a forward that calls itself', () => {
    const text = 'module M {\n  fn forward(x: f32[4]) -> f32[4] {\n    return forward(x)\n  }\n}\n';
    expect(diagnose({ 'main.rh': text })).toEqual(['main.rh:3:12: M.forward calls itself: M.forward -> M.forward']);
  });

  it('bounds recursion whose arguments change at each level', () => {
    const forward = 'fn forward(x: f32[4]) -> f32[4] {\n    return x\n  }';
    const d = diagnose({ 'main.rh': `module A(n: int) { a = A(n + 1)\n  ${forward}\n}\nmodel m = A(0)\n` });
    expect(d).toEqual([`main.rh:1:20: module instantiations nested more than ${MAX_CALL_DEPTH} deep: A -> A -> A -> A -> ... -> A -> A -> A`]);
  });

  it('stops a model too large to elaborate, promptly', () => {
    // Each g_k calls g_(k+1) twice: 2^30 inlined calls unless the budget stops them.
    const fns = Array.from({ length: 30 }, (_, k) => `fn g_${k}(x: f32[4]) -> f32[4] {\n  return g_${k + 1}(g_${k + 1}(x))\n}\n`).join('');
    const start = Date.now();
    const d = diagnose({ 'main.rh': `${fns}fn g_30(x: f32[4]) -> f32[4] {\n  return x\n}\n` });
    expect(Date.now() - start).toBeLessThan(10_000);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatch(/^main\.rh:\d+:\d+: the model is too large to elaborate: more than 100,000 calls, module instances and IR nodes/);
  });

  it('refuses a repeat count past the limit at the count, before building any copy', () => {
    const start = Date.now();
    const d = diagnose({ 'main.rh': 'module B {\n  param w: f32[4] = zeros()\n}\nmodule M {\n  h = [1000000000] B()\n}\nmodel m = M()\n' });
    expect(Date.now() - start).toBeLessThan(2_000);
    expect(d[0]).toBe('main.rh:5:8: a repeat count of 1,000,000,000 is more than the 4,096 copies one submodule may have');
  });

  it('turns a stack overflow into a diagnostic at the innermost call in progress', () => {
    const el = new Elaborator([]);
    const at = (line: number): SourceLocation => ({ file: 'main.rh', line, column: 1, length: 1 });
    const frame = (name: string) => ({ kind: 'call' as const, decl: {}, key: '', name });
    const runaway = (n: number): number => runaway(n + 1) + 1;
    const outer = frame('outer');
    el.guard(at(1), () => el.budget.within(outer, at(2), POISON, () => el.budget.within(frame('inner'), at(3), POISON, () => (runaway(0), POISON))));
    expect(el.diagnostics.map((d) => `${d.loc?.line}: ${d.message}`)).toEqual([
      '3: spec too deeply nested: the compiler ran out of stack here (calls, modules and expressions nested too deep; split them up)',
    ]);
    // Nothing is left in progress: entering `outer` again is not taken for recursion.
    expect(el.budget.within(outer, at(4), 'refused', () => 'ran')).toBe('ran');
  });
});

describe('reading specs', () => {
  it('refuses a spec over the size limit before reading it, naming its size and the limit', () => {
    const d = diagnose({ 'main.rh': ' '.repeat(MAX_SPEC_BYTES + 1) });
    expect(d).toHaveLength(1);
    expect(d[0]).toMatch(/^cannot read spec .*main\.rh: it is 256.0 KiB, more than the 256.0 KiB a spec may be$/);
  });

  it('refuses devices, FIFOs and links to them, at the import, without waiting', () => {
    const dir = writeFiles({ 'main.rh': 'import "zero.rh"\nimport "pipe.rh"\n' });
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.rh'));
    execFileSync('mkfifo', [path.join(dir, 'pipe.rh')]);
    const d = checkFile(path.join(dir, 'main.rh')).diagnostics.map((x) => `${x.loc?.line}:${x.loc?.column}: ${x.message}`);
    expect(d).toEqual([
      `1:1: cannot read spec ${path.join(dir, 'zero.rh')}: it is a device, not a regular file`,
      `2:1: cannot read spec ${path.join(dir, 'pipe.rh')}: it is a FIFO, not a regular file`,
    ]);
    expect(checkFile('/dev/zero').diagnostics.map((x) => x.message)).toEqual(['cannot read spec /dev/zero: it is a device, not a regular file']);
  });

  it('the CLI gives exit 1 and located errors for each hostile spec, never an internal error', () => {
    const dir = writeFiles({
      'parens.rh': `const c: int = ${'('.repeat(300)}1${')'.repeat(300)}\n`,
      'sum.rh': fn(`  return ${Array(10_000).fill('a').join(' + ')}`),
      'self.rh': 'module A { a = A() }\n',
    });
    const r = rhc(['check', ...['parens.rh', 'sum.rh', 'self.rh'].map((f) => path.join(dir, f)), '/dev/zero']);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain('internal error');
    const heads = r.stderr.split('\n').filter((l) => /error:/.test(l)).map((l) => l.replace(dir + path.sep, ''));
    expect(heads).toEqual([
      `parens.rh:1:80: error: ${NESTED}`,
      `sum.rh:2:1036: error: ${TOO_DEEP}`,
      'self.rh:1:12: error: module A instantiates itself: A -> A',
      'error: cannot read spec /dev/zero: it is a device, not a regular file',
    ]);
  });
});
