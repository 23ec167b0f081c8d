// Every diagnostic the checker promises, at its exact location, with the text a user reads.

import { describe, expect, it } from 'vitest';
import { diagnose, renderAll } from '../helpers/rh.ts';

const header = 'dim S\nconfig E: int = 1024\n';

describe('checker diagnostics', () => {
  it('reports a syntax error with its location', () => {
    const d = diagnose({ 'main.rh': `${header}fn f(x: f32[S]) -> f32[S] {\n  return exp(x\n}\n` });
    expect(d).toHaveLength(1);
    expect(d[0]).toMatch(/^main\.rh:5:1: /);
  });

  it('reports unknown names with a suggestion', () => {
    const d = diagnose({ 'main.rh': `${header}fn f(x: f32[S]) -> f32[S] {\n  return tanhh(x) + y\n}\n` });
    expect(d).toEqual([
      "main.rh:4:10: unknown name 'tanhh' (did you mean 'tanh'?)",
      "main.rh:4:21: unknown name 'y'",
    ]);
  });

  it('reports wrong arity for builtins and functions', () => {
    const d = diagnose({
      'main.rh': `${header}fn g(a: f32[S], b: f32[S]) -> f32[S] {\n  return a + b\n}\nfn f(x: f32[S]) -> f32[S] {\n  return g(x) + exp(x, x)\n}\n`,
    });
    expect(d).toEqual([
      "main.rh:7:10: g takes 2 arguments, got 1 (missing 'b')",
      'main.rh:7:17: exp takes 1 argument, got 2',
    ]);
  });

  it('reports a matmul shape mismatch naming both types', () => {
    const d = diagnose({ 'main.rh': `${header}fn f(x: f32[S, 64], w: f32[32, E]) -> f32[S, E] {\n  return x @ w\n}\n` });
    expect(d).toEqual(['main.rh:4:12: matmul: inner dimensions differ: f32[S, 64] @ f32[32, 1024] (64 vs 32)']);
  });

  it('reports a dimension that must divide (D/2 with odd D)', () => {
    const d = diagnose({ 'main.rh': `${header}const D: int = 9\nfn f(x: f32[S, D / 2]) -> f32[S, D / 2] {\n  return x\n}\n` });
    expect(d[0]).toBe("main.rh:4:16: 9 is not divisible by 2 (integer '/' must divide exactly; write a float such as 2.0 for a fraction)");
  });

  it('reports broadcasting and argument type mismatches', () => {
    const d = diagnose({
      'main.rh': `${header}fn g(x: f32[S, 4]) -> f32[S, 4] {\n  return x\n}\nfn f(a: f32[S, 3], b: f32[S, 4]) -> f32[S, 4] {\n  let c = a + b\n  return g(a)\n}\n`,
    });
    expect(d).toEqual([
      'main.rh:7:13: add: shapes [S, 3] and [S, 4] do not broadcast (axis -1: 3 vs 4)',
      "main.rh:8:12: argument 'x' of g: expected f32[S, 4], got f32[S, 3] (axis 1: 4 vs 3)",
    ]);
  });

  it('reports a return type that disagrees with the signature', () => {
    const d = diagnose({ 'main.rh': `${header}fn f(x: f32[S, 4]) -> f32[S, 8] {\n  return x\n}\n` });
    expect(d).toEqual(['main.rh:3:23: f returns f32[S, 4], but its signature says f32[S, 8]']);
  });

  it('reports an import cycle at the import', () => {
    const d = diagnose({ 'main.rh': 'import "a.rh"\n', 'a.rh': 'import "b.rh"\n', 'b.rh': 'import "a.rh"\n' });
    expect(d).toEqual(['b.rh:1:1: import cycle: a.rh -> b.rh -> a.rh']);
  });

  it('reports a missing import and a non-.rh import', () => {
    const d = diagnose({ 'main.rh': 'import "nope.rh"\nimport "weights.json"\n' });
    expect(d).toHaveLength(2);
    expect(d[0]).toMatch(/^main\.rh:1:1: cannot find "nope\.rh" \(looked in .* and in rhc's spec library\)$/);
    expect(d[1]).toBe('main.rh:2:1: cannot import "weights.json": only .rh files can be imported');
  });

  it("imports rhc's bundled spec library by name", () => {
    const d = diagnose({ 'main.rh': 'import "gpt2.rh"\nmodel m = GPT2LMHeadModel(Rope = NoRope)\n' });
    expect(d).toEqual([]);
  });

  it('reports several errors in one run', () => {
    const d = diagnose({ 'main.rh': `${header}const a: int = 3 / 2\nconst b: int = nope\nfn f(x: f32[S]) -> f32[S] {\n  return x @ x\n}\n` });
    expect(d.length).toBe(3);
  });

  it('renders file:line:col, the source line and a caret', () => {
    const text = renderAll({ 'main.rh': `${header}fn f(x: f32[S, 64], w: f32[32, E]) -> f32[S, E] {\n  return x @ w\n}\n` });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/main\.rh:4:12: error: matmul: inner dimensions differ/);
    expect(lines[1]).toBe('   4 |   return x @ w');
    expect(lines[2]).toBe('     |            ^');
  });

  it('checks module arguments, parameter shapes and members', () => {
    const d = diagnose({
      'main.rh': `${header}module Lin(n: int) {\n  param w: f32[n, n] = normal(0.02)\n  fn forward(x: f32[S, n]) -> f32[S, n] {\n    return x @ w\n  }\n}\nmodule Top {\n  a = Lin(2.5)\n  b = Lin(4)\n  fn forward(x: f32[S, 4]) -> f32[S, 4] {\n    return b(x) + b.v\n  }\n}\nmodel m = Top()\n`,
    });
    expect(d).toEqual([
      "main.rh:10:11: argument 'n' of module Lin: expected int, got float 2.5",
      "main.rh:13:21: Lin has no member 'v'",
    ]);
  });

  it('keeps a variable’s type across assignments', () => {
    const d = diagnose({ 'main.rh': `${header}fn f(x: f32[S, 4]) -> f32[S, 4] {\n  let y = x\n  y = reshape(x, [S, 2, 2])\n  return y\n}\n` });
    expect(d).toEqual(["main.rh:5:7: 'y' was f32[S, 4] and would become f32[S, 2, 2]; a variable keeps its type"]);
  });
});
