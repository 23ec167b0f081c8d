import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type * as A from '../../src/dsl/ast.ts';
import { renderDiagnostic } from '../../src/dsl/diagnostics.ts';
import { parseSource } from '../../src/dsl/parse.ts';

const specDir = path.join(import.meta.dirname, '../../spec');

function parseOk(text: string): A.SourceFile {
  const { file, diagnostics } = parseSource('t.rh', text);
  expect(diagnostics.map((d) => d.message)).toEqual([]);
  return file;
}

/** The value of `const e = <text>`. */
const expr = (text: string): A.Expr => (parseOk(`const e = ${text}`).decls[0] as A.ConstDecl).value;

/** An expression as an s-expression, so a test states the tree's shape in one line. */
function sx(e: A.Expr): string {
  switch (e.kind) {
    case 'number':
      return e.isFloat ? `${e.value}f` : `${e.value}`;
    case 'bool':
      return `${e.value}`;
    case 'string':
      return JSON.stringify(e.value);
    case 'name':
      return e.name;
    case 'unary':
      return `(neg ${sx(e.operand)})`;
    case 'binary':
      return `(${e.op} ${sx(e.left)} ${sx(e.right)})`;
    case 'call':
      return `(call ${[sx(e.callee), ...e.args.map((a) => (a.name ? `${a.name.name}=` : '') + sx(a.value))].join(' ')})`;
    case 'member':
      return `(. ${sx(e.object)} ${e.member.name})`;
    case 'list':
      return `[${e.items.map(sx).join(' ')}]`;
    case 'table':
      return `(table ${e.indices.map((i) => `${i.name.name}:${sx(i.extent)}`).join(' ')} => ${sx(e.body)})`;
    case 'match':
      return `(match ${sx(e.subject)} ${e.arms.map((a) => `${a.patterns.map((p) => JSON.stringify(p.value)).join('|')} => ${sx(a.body)}`).join(', ')})`;
  }
}

/** The diagnostics of a broken snippet as `line:col message`. */
function errorsOf(text: string): string[] {
  return parseSource('t.rh', text).diagnostics.map((d) => `${d.loc!.line}:${d.loc!.column} ${d.message}`);
}

describe('the example specs', () => {
  const specs = fs.readdirSync(specDir).filter((f) => f.endsWith('.rh'));
  it('are all there', () => expect(specs.length).toBeGreaterThanOrEqual(7));
  it.each(specs)('%s parses without diagnostics', (name) => {
    const { file, diagnostics } = parseSource(name, fs.readFileSync(path.join(specDir, name), 'utf8'));
    expect(diagnostics).toEqual([]);
    expect(file.decls.length).toBeGreaterThan(0);
  });

  it('gpt2.rh has the declarations it spells', () => {
    const { file } = parseSource('gpt2.rh', fs.readFileSync(path.join(specDir, 'gpt2.rh'), 'utf8'));
    const byName = new Map(file.decls.map((d) => [d.kind === 'dim' ? 'dim' : d.name.name, d]));
    expect(byName.get('layer_norm_epsilon')).toMatchObject({ kind: 'config', type: 'float', value: { kind: 'number', value: 1e-5, isFloat: true } });
    expect(byName.get('D')).toMatchObject({ kind: 'const', type: 'int' });
    expect((byName.get('dim') as A.DimDecl).names.map((n) => n.name)).toEqual(['B', 'S']);
    const model = byName.get('GPT2Model') as A.ModuleDecl;
    expect(model.params).toMatchObject([{ name: { name: 'Rope' }, type: 'module' }]);
    expect(model.members.map((m) => m.kind)).toEqual(['submodule', 'submodule', 'submodule', 'submodule', 'fn']);
  });

  it('imports come first, with the path unquoted', () => {
    const { file } = parseSource('gp.rh', fs.readFileSync(path.join(specDir, 'gp.rh'), 'utf8'));
    expect(file.imports).toMatchObject([{ kind: 'import', spec: 'gpt2.rh', loc: { file: 'gp.rh', line: 3, column: 1, length: 16 } }]);
  });
});

describe('expressions', () => {
  it.each([
    ['a + b * c - d', '(- (+ a (* b c)) d)'],
    ['a - b - c', '(- (- a b) c)'],
    ['a / b * c @ d', '(@ (* (/ a b) c) d)'],
    ['(a + b) * c', '(* (+ a b) c)'],
    ['2 ** 3 ** 2', '(** 2 (** 3 2))'],
    ['-x ** 2', '(neg (** x 2))'],
    ['2 ** -x ** 2', '(** 2 (neg (** x 2)))'],
    ['a * b ** 2', '(* a (** b 2))'],
    ['- -x', '(neg (neg x))'],
    ['base ** (-(2 * i) / D)', '(** base (/ (neg (* 2 i)) D))'],
    ['a @ b + c', '(+ (@ a b) c)'],
  ])('%s', (text, tree) => expect(sx(expr(text))).toBe(tree));

  it('calls, named arguments and member chains', () => {
    expect(sx(expr('softmax(x, axis = -1)'))).toBe('(call softmax x axis=(neg 1))');
    expect(sx(expr('transformer.wte.weight'))).toBe('(. (. transformer wte) weight)');
    expect(sx(expr('a.b(c).d()'))).toBe('(call (. (call (. a b) c) d))');
    expect(sx(expr('f()(x)'))).toBe('(call (call f) x)');
    expect(sx(expr('float(x) + int(y)'))).toBe('(+ (call float x) (call int y))');
  });

  it('tells a table from a list by `IDENT :` after the bracket', () => {
    expect(sx(expr('[h: n_head, i: D / 2] => exp(h) * 2'))).toBe('(table h:n_head i:(/ D 2) => (* (call exp h) 2))');
    expect(sx(expr('[B, S]'))).toBe('[B S]');
    expect(sx(expr('[h]'))).toBe('[h]');
    expect(sx(expr('[]'))).toBe('[]');
    expect(sx(expr('[0, 2, 1, 3]'))).toBe('[0 2 1 3]');
    expect(sx(expr('[[i: n] => i, x]'))).toBe('[(table i:n => i) x]');
  });

  it('numbers: int unless written with `.` or an exponent', () => {
    expect(expr('1024')).toMatchObject({ kind: 'number', value: 1024, isFloat: false });
    expect(expr('1e-5')).toMatchObject({ kind: 'number', value: 1e-5, isFloat: true });
    expect(expr('10000.0')).toMatchObject({ kind: 'number', value: 10000, isFloat: true });
    expect(expr('0.02')).toMatchObject({ kind: 'number', value: 0.02, isFloat: true });
    expect(expr('2E+3')).toMatchObject({ kind: 'number', value: 2000, isFloat: true });
    expect(expr('1.5e2')).toMatchObject({ kind: 'number', value: 150, isFloat: true });
  });

  it('booleans and strings', () => {
    expect(expr('true')).toMatchObject({ kind: 'bool', value: true });
    expect(expr('false')).toMatchObject({ kind: 'bool', value: false });
    expect(expr('"a\\"b\\\\c"')).toMatchObject({ kind: 'string', value: 'a"b\\c' });
  });

  it('locates every node, and a binary operator by its token', () => {
    const e = expr('a +  b * c') as A.BinaryExpr; // `const e = ` puts `a` at column 11
    expect(e.loc).toEqual({ file: 't.rh', line: 1, column: 11, length: 10 });
    expect(e.opLoc).toEqual({ file: 't.rh', line: 1, column: 13, length: 1 });
    expect((e.right as A.BinaryExpr).loc).toMatchObject({ column: 16, length: 5 });
    expect((e.right as A.BinaryExpr).opLoc).toMatchObject({ column: 18, length: 1 });
    const p = expr('x ** 2') as A.BinaryExpr;
    expect(p.opLoc).toMatchObject({ column: 13, length: 2 });
    const c = expr('f(a, axis = 1).b') as A.MemberExpr;
    expect(c.loc).toMatchObject({ column: 11, length: 16 });
    expect((c.object as A.CallExpr).args[1].loc).toMatchObject({ column: 16, length: 8 });
    expect(c.member.loc).toMatchObject({ column: 26, length: 1 });
  });
});

describe('declarations and statements', () => {
  const src = `
dim B, S
config n: int = 4
const half = n / 2
fn f[N](x: f32[..., N], flag: bool, m: bool[S]) -> f32[..., N] {
  let y: f32[B, S, N] = x
  let z = y
  for blk in h {
    z = blk(z)
  }
  return z
}
module M(n: int, Rope: module, scale: float = 1.0) {
  param w: f32[n, 2] = normal(0.02)
  c = Conv1D(n, 3 * n)
  h = [n_layer] Block(Rope)
  fn forward(x: f32[B, S]) -> f32[B, S] { return x }
}
model m = M(n = 4, Rope = NoRope)
`;
  const file = parseOk(src);
  const [dim, config, cnst, fn, mod, model] = file.decls as [A.DimDecl, A.ConfigDecl, A.ConstDecl, A.FnDecl, A.ModuleDecl, A.ModelDecl];

  it('top-level declarations', () => {
    expect(dim).toMatchObject({ kind: 'dim', names: [{ name: 'B' }, { name: 'S', loc: { line: 2, column: 8, length: 1 } }] });
    expect(config).toMatchObject({ kind: 'config', name: { name: 'n' }, type: 'int', loc: { line: 3, column: 1, length: 17 } });
    expect(cnst.type).toBeUndefined();
    expect(sx(cnst.value)).toBe('(/ n 2)');
    expect(model).toMatchObject({ kind: 'model', name: { name: 'm' }, module: { name: 'M' } });
    expect(model.args.map((a) => `${a.name?.name}=${sx(a.value)}`)).toEqual(['n=4', 'Rope=NoRope']);
  });

  it('functions: shape variables, `...`, scalar and bool tensor types', () => {
    expect(fn.dimParams.map((d) => d.name)).toEqual(['N']);
    const x = fn.params[0].type as A.TensorTypeExpr;
    expect(x.dtype).toBe('f32');
    expect(x.dims[0]).toEqual({ kind: 'ellipsis', loc: { file: 't.rh', line: 5, column: 16, length: 3 } });
    expect(sx(x.dims[1] as A.Expr)).toBe('N');
    expect(fn.params[1].type).toMatchObject({ kind: 'scalarType', name: 'bool' });
    expect(fn.params[2].type).toMatchObject({ kind: 'tensorType', dtype: 'bool', dims: [{ kind: 'name', name: 'S' }] });
    expect(fn.returnType).toMatchObject({ kind: 'tensorType', dims: [{ kind: 'ellipsis' }, { name: 'N' }] });
    // a multi-line node starts at its first token and spans to its last
    expect(fn.loc).toMatchObject({ line: 5, column: 1 });
    expect(fn.body.loc).toMatchObject({ line: 5, column: 64 });
    expect(fn.loc.length).toBe(src.indexOf("\n}\nmodule") + 2 - src.indexOf("fn f["));
  });

  it('statements: let with and without a type, for, assignment, return', () => {
    const [let1, let2, loop, ret] = fn.body.stmts as [A.LetStmt, A.LetStmt, A.ForStmt, A.ReturnStmt];
    expect(let1).toMatchObject({ kind: 'let', name: { name: 'y' }, type: { kind: 'tensorType', dims: [{ name: 'B' }, { name: 'S' }, { name: 'N' }] } });
    expect(let2.type).toBeUndefined();
    expect(loop).toMatchObject({ kind: 'for', variable: { name: 'blk' }, iterable: { kind: 'name', name: 'h' }, loc: { line: 8, column: 3 } });
    expect(loop.body.stmts).toMatchObject([{ kind: 'assign', name: { name: 'z' }, value: { kind: 'call' } }]);
    expect(ret).toMatchObject({ kind: 'return', value: { name: 'z' }, loc: { line: 11, column: 3, length: 8 } });
  });

  it('modules: parameters with defaults, params, submodules, repeated submodules', () => {
    expect(mod.params.map((p) => [p.name.name, p.type, p.default && sx(p.default)])).toEqual([
      ['n', 'int', undefined],
      ['Rope', 'module', undefined],
      ['scale', 'float', '1f'],
    ]);
    const [param, c, h, forward] = mod.members as [A.ParamDecl, A.SubmoduleDecl, A.SubmoduleDecl, A.FnDecl];
    expect(param).toMatchObject({ kind: 'param', name: { name: 'w' }, type: { dtype: 'f32' } });
    expect(sx(param.init)).toBe('(call normal 0.02f)');
    expect(c.count).toBeUndefined();
    expect(c.args.map((a) => sx(a.value))).toEqual(['n', '(* 3 n)']);
    expect(h).toMatchObject({ kind: 'submodule', name: { name: 'h' }, count: { kind: 'name', name: 'n_layer' }, module: { name: 'Block' } });
    expect(h.loc).toEqual({ file: 't.rh', line: 16, column: 3, length: 25 });
    expect(forward.kind).toBe('fn');
  });

  it('a module without parameters and an empty block', () => {
    const m = parseOk('module NoRope { fn forward(x: f32[B]) -> f32[B] { return x } }').decls[0] as A.ModuleDecl;
    expect(m.params).toEqual([]);
    expect(parseOk('module E {}').decls[0]).toMatchObject({ kind: 'module', params: [], members: [] });
  });
});

describe('syntax errors', () => {
  it('a missing `)` is reported at the token found instead', () => {
    const text = 'fn f(x: f32[N]) -> f32[N] {\n  let y = g(x, 1\n  let z = 2\n  return y\n}\n';
    expect(errorsOf(text)).toEqual(["3:3 expected ')' after the arguments of the call, found 'let'"]);
  });

  it('an unknown character', () => {
    expect(errorsOf('config a: int = 1\nconst b = a $ 2\n')).toEqual(["2:13 unexpected character '$'"]);
  });

  it('a missing `=` in a config', () => {
    expect(errorsOf('config n: int 5\n')).toEqual(["1:15 expected '=' and a default value after the config's type, found '5'"]);
    expect(errorsOf('config n = 5\n')).toEqual(["1:10 expected ':' and a type after the config's name, found '='"]);
  });

  it('an unterminated string', () => {
    expect(errorsOf('import "gpt2.rh\nconst a = 1\n')).toEqual(['1:8 unterminated string (a string must close with " on the same line)']);
  });

  it('an unknown escape and a leading-dot number', () => {
    expect(errorsOf('import "a\\n.rh"')).toEqual(["1:8 unknown escape '\\n' in string (only \\\" and \\\\ are allowed)"]);
    expect(errorsOf('const a = .5')).toEqual(["1:11 a number needs a digit before '.': write '0.5'"]);
  });

  it('the end of the file, reported just past the last token', () => {
    expect(errorsOf('fn f() -> int {\n  return (1 +\n')).toEqual(['2:14 expected an expression, found end of file']);
    expect(errorsOf('dim B,')).toEqual(['1:7 expected a dimension name, found end of file']);
  });

  it('keywords are not names; a bare expression is not a statement', () => {
    expect(errorsOf('const in = 1')).toEqual(["1:7 expected a name after 'const', found 'in'"]);
    expect(errorsOf('fn f() -> int { f(1) }')).toEqual([
      "1:18 expected '=' after the name (a statement is 'let', 'for', 'return' or 'name = value'), found '('",
    ]);
  });

  it('stray tokens and misplaced imports at the top level', () => {
    expect(errorsOf('dim B\n+')).toEqual(['2:1 expected a declaration (config, const, dim, fn, module or model), found \'+\'']);
    expect(errorsOf('dim B\nimport "x.rh"')).toEqual(['2:1 misplaced import: imports come before every declaration']);
  });

  it('reports an error in each broken declaration and keeps the whole ones', () => {
    const { file, diagnostics } = parseSource('t.rh', 'const a = 1 +\nconst b = 2\nconst c = (3\nconfig d: int = 4\n');
    expect(diagnostics.map((d) => `${d.loc!.line}:${d.loc!.column}`)).toEqual(['2:1', '4:1']);
    expect(file.decls.map((d) => (d as A.ConstDecl).name.name)).toEqual(['b', 'd']);
  });

  it('drops the errors that recovery from a first one causes', () => {
    expect(errorsOf('module M { c = Conv(1) d e }')).toEqual(["1:26 expected '=' after the submodule's name, found 'e'"]);
    const derailed = 'module M {\n  param f: f32[n, D / 2 = randn()\n  l = L(D / 2)\n  fn forward(x: f32[B, S]) -> f32[B] { return x }\n}\n';
    expect(errorsOf(derailed)).toEqual(["2:25 expected ']' after the dimensions, found '='"]);
  });

  it('a missing closing bracket names what it closes', () => {
    expect(errorsOf('const a = [1, 2 3]')).toEqual(["1:17 expected ',' or ']' to close the list, found '3'"]);
    expect(errorsOf('fn f(x: f32[N, M}) -> int { return 1 }')).toEqual(["1:17 expected ']' after the dimensions, found '}'"]);
    expect(errorsOf('fn f[N M]() -> int { return 1 }')).toEqual(["1:8 expected ']' after the shape variables, found 'M'"]);
    expect(errorsOf('fn f() -> int { return 1 2 }')).toEqual([
      "1:26 expected a statement ('let', 'for', 'return' or 'name = value') or '}' to close the block, found '2'",
    ]);
  });

  it('renders as `file:line:col: error: message`, the source line and a caret line', () => {
    const text = 'config n: int = 1\nconst b = f(n, 2 let\n';
    const { diagnostics } = parseSource('spec/x.rh', text);
    expect(diagnostics).toHaveLength(1);
    expect(renderDiagnostic(diagnostics[0], new Map([['spec/x.rh', text]]))).toBe(
      [
        "spec/x.rh:2:18: error: expected ')' after the arguments of the call, found 'let'",
        '   2 | const b = f(n, 2 let',
        '     |                  ^^^',
      ].join('\n'),
    );
  });
});
