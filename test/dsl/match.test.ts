// `str` configs and `match`: the arm a string selects is lowered, every arm is checked, and a
// string no arm names is an error listing the accepted ones, against config.json or --set when
// the string came from there. Also the elementwise maximum/minimum builtins relu uses.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/dsl/compile.ts';
import type { ConfigOverride } from '../../src/dsl/config.ts';
import { parseSource } from '../../src/dsl/parse.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { diagnose, writeFiles } from '../helpers/rh.ts';

const spec = (act = '"double"', extra = '') => `dim S
config act: str = ${act}
config width: int = 4
${extra}
fn f(x: f32[S, width]) -> f32[S, width] {
  return match act {
    "double" | "twice" => 2.0 * x,
    "tanh" => tanh(x),
    "none" => x,
  }
}
module M {
  fn forward(x: f32[S, width]) -> f32[S, width] {
    return f(x)
  }
}
model m = M()
`;

const set = (name: string, value: string): ConfigOverride => ({ name, value, origin: '--set', strict: true });
const json = (name: string, value: number | boolean | string): ConfigOverride => ({ name, value, origin: 'dir/config.json', strict: false, exact: true });

function lower(source: string, overrides: ConfigOverride[] = []): { graph?: Graph; messages: string[] } {
  const dir = writeFiles({ 'main.rh': source });
  const r = compileModel(path.join(dir, 'main.rh'), { overrides });
  const shown = (m: string) => m.replaceAll(dir + path.sep, '');
  return { graph: r.graph, messages: r.diagnostics.map((d) => (d.loc ? `${path.basename(d.loc.file)}:${d.loc.line}:${d.loc.column}: ${d.message}` : shown(d.message))) };
}

const ops = (g: Graph) => g.nodes.map((n) => n.op).filter((op) => op !== 'input' && op !== 'const');

describe('match on a str config', () => {
  it('lowers the arm the string names, and only that arm', () => {
    expect(ops(lower(spec()).graph!)).toEqual(['mul']);
    expect(ops(lower(spec(), [set('act', 'twice')]).graph!)).toEqual(['mul']);
    const tanh = lower(spec(), [json('act', 'tanh')]).graph!;
    expect(ops(tanh)).toEqual(['tanh']);
    expect(tanh.config).toMatchObject({ act: 'tanh', width: 4 });
    // nothing of the unchosen arms is left behind: node ids stay dense
    expect(tanh.nodes.map((n) => n.id)).toEqual(tanh.nodes.map((_, i) => i));
    expect(ops(lower(spec(), [set('act', 'none')]).graph!)).toEqual([]);
  });

  it('checks the arms the configuration does not take', () => {
    const bad = spec().replace('"none" => x,', '"none" => exp(x, x),');
    expect(lower(bad).messages).toEqual(['main.rh:9:15: exp takes 1 argument, got 2']);
  });

  it('names config.json or --set, the key, the value and the accepted values when no arm matches', () => {
    const accepted = '"double", "twice", "tanh", "none"';
    expect(lower(spec(), [json('act', 'swiglu')]).messages).toEqual([`dir/config.json: act "swiglu" is not supported; the spec accepts ${accepted} (main.rh:6)`]);
    expect(lower(spec(), [set('act', 'gelu')]).messages).toEqual([`--set: act "gelu" is not supported; the spec accepts ${accepted} (main.rh:6)`]);
    // the spec's own default: a mistake in the spec, shown there
    expect(lower(spec('"triple"')).messages).toEqual([`main.rh:6:16: string "triple" matches no arm; the arms accept ${accepted}`]);
  });

  it('keeps config.json strings and numbers apart', () => {
    expect(lower(spec(), [json('act', 5)]).messages).toEqual(['dir/config.json: config act (str): expected a string, got 5']);
    expect(lower(spec(), [json('width', '8')]).messages).toEqual(['dir/config.json: config width (int): expected an integer, got the string "8"']);
    // --set text is parsed by the declared type, as before
    expect(lower(spec(), [set('width', '8')]).graph!.config.width).toBe(8);
    expect(lower(spec('3')).messages).toEqual(['main.rh:2:19: config act is declared str: its default is 3']);
  });

  it('rejects repeated strings and a subject that is not a string', () => {
    expect(lower(spec().replace('"tanh" => tanh(x)', '"tanh" | "twice" => tanh(x)')).messages).toEqual(['main.rh:8:14: "twice" is already matched by the arm on line 7']);
    expect(lower(spec().replace('match act', 'match width')).messages).toEqual(["main.rh:6:16: match needs a string (such as a 'str' config), got int 4"]);
  });

  it('takes str module and function parameters; a function checked alone has every arm checked', () => {
    const src = `dim S
fn g(x: f32[S], k: str) -> f32[S] {
  return match k { "a" => x "b" => exp(x, x) }
}
module N(k: str = "a") {
  fn forward(x: f32[S]) -> f32[S] {
    return g(x, k)
  }
}
`;
    expect(diagnose({ 'main.rh': src })).toEqual(['main.rh:3:36: exp takes 1 argument, got 2']);
    expect(diagnose({ 'main.rh': `${src}module P {\n  n = N(3)\n  fn forward(x: f32[S]) -> f32[S] {\n    return n(x)\n  }\n}\n` })).toContain(
      "main.rh:11:9: argument 'k' of module N: expected str, got int 3",
    );
  });

  it('parses arms with or without commas, and reports a malformed match', () => {
    const e = parseSource('t.rh', 'const e = match a { "x" | "y" => 1 "z" => 2, }').file.decls[0];
    expect(e.kind === 'const' && e.value.kind === 'match' && e.value.arms.map((a) => a.patterns.map((p) => p.value))).toEqual([['x', 'y'], ['z']]);
    const errors = (text: string) => parseSource('t.rh', text).diagnostics.map((d) => `${d.loc!.column} ${d.message}`);
    expect(errors('const e = match a { }')).toEqual([`21 expected an arm ('"value" => expression'), found '}'`]);
    expect(errors('const e = match a { "x" 1 }')).toEqual(["25 expected '=>' and the arm's expression after its strings, found '1'"]);
  });
});

describe('maximum and minimum', () => {
  const body = (expr: string) => `dim S\nmodule M {\n  fn forward(x: f32[S], i: i32[S]) -> f32[S] {\n    return ${expr}\n  }\n}\nmodel m = M()\n`;

  it('are elementwise, broadcast, and promote like arithmetic', () => {
    const g = lower(body('maximum(x, 0) + minimum(i, 2.5)')).graph!;
    const max = g.nodes.find((n) => n.op === 'max')!;
    const min = g.nodes.find((n) => n.op === 'min')!;
    expect([max.type.dtype, min.type.dtype]).toEqual(['f32', 'f32']);
    expect(g.nodes.find((n) => n.op === 'cast')).toBeDefined(); // i promoted to f32
  });

  it('fold compile-time numbers', () => {
    const g = lower(body('x * maximum(2, 3.5) + minimum(2, 7)')).graph!;
    expect(g.nodes.filter((n) => n.op === 'const').map((n) => n.attrs.value)).toEqual([3.5, 2]);
  });
});
