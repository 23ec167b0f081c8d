// CST -> AST: the semantics of the syntax, kept apart from the grammar (parser.ts).
// One visitor method per grammar rule; every AST node gets the location of the text it
// came from (the CST records the first and last offsets of each rule, see nodeLocationTracking).

import type { CstChildrenDictionary, CstElement, CstNode, IToken } from 'chevrotain';
import type * as A from './ast.ts';
import type { SourceLocation } from './diagnostics.ts';
import { rhParser } from './parser.ts';

type Ctx = CstChildrenDictionary;

// ---------------------------------------------------------------------------- CST access

const isToken = (e: CstElement): e is IToken => 'image' in e;

/** A CST child that the grammar guarantees (`intact` has vetted the tree after an error). */
function child<K extends 'token' | 'node'>(ctx: Ctx, key: string, kind: K, i = 0): K extends 'token' ? IToken : CstNode {
  const e = ctx[key]?.[i];
  if (!e || isToken(e) !== (kind === 'token')) throw new Error(`syntax tree lacks ${key}[${i}]`);
  return e as K extends 'token' ? IToken : CstNode;
}

/**
 * Whether error recovery left `n` alone: recovery stops a rule early (a `recoveredNode`, which
 * lacks children) or makes up a missing token (`isInsertedInRecovery`, without a position).
 */
function intact(n: CstNode): boolean {
  if (n.recoveredNode) return false;
  return Object.values(n.children).every((es) => es.every((e) => (isToken(e) ? !e.isInsertedInRecovery : intact(e))));
}

/** The one child of a rule that is a choice of sub-rules (topDecl, member, stmt). */
const only = (ctx: Ctx): CstNode => Object.values(ctx)[0][0] as CstNode;
const tok = (ctx: Ctx, key: string, i = 0) => child(ctx, key, 'token', i);
const node = (ctx: Ctx, key: string, i = 0) => child(ctx, key, 'node', i);
const toks = (ctx: Ctx, key: string) => (ctx[key] ?? []) as IToken[];
const nodes = (ctx: Ctx, key: string) => (ctx[key] ?? []) as CstNode[];

// ---------------------------------------------------------------------------- locations

function bounds(e: CstElement): { start: number; end: number; line: number; column: number } {
  if (isToken(e)) return { start: e.startOffset, end: e.endOffset ?? e.startOffset + e.image.length - 1, line: e.startLine ?? NaN, column: e.startColumn ?? NaN };
  const l = e.location!;
  return { start: l.startOffset, end: l.endOffset ?? l.startOffset, line: l.startLine ?? NaN, column: l.startColumn ?? NaN };
}

// ---------------------------------------------------------------------------- the visitor

const BaseVisitor = rhParser.getBaseCstVisitorConstructor();

class AstBuilder extends BaseVisitor {
  constructor(private readonly path: string) {
    super();
    this.validateVisitor();
  }

  /** From the start of `first` to the end of `last` (length spans lines when the text does). */
  private loc(first: CstElement, last: CstElement = first): SourceLocation {
    const a = bounds(first);
    const b = bounds(last);
    return { file: this.path, line: a.line, column: a.column, length: Math.max(1, b.end - a.start + 1) };
  }
  private ident(t: IToken): A.Identifier {
    return { name: t.image, loc: this.loc(t) };
  }
  private sub(n: CstNode): A.Expr {
    return this.visit(n) as A.Expr;
  }
  /** The optional `args` child of a call suffix, submodule or model. */
  private argsOf(ctx: Ctx): A.Arg[] {
    return ctx.args ? this.visit(node(ctx, 'args')) : [];
  }

  // ------------------------------------------------------------------------ declarations

  file(ctx: Ctx, recovering: boolean): A.SourceFile {
    return { path: this.path, imports: this.whole(nodes(ctx, 'importDecl'), recovering), decls: this.whole(nodes(ctx, 'topDecl'), recovering) };
  }

  /** After a syntax error, keep only the declarations that parsed whole (see `intact`). */
  private whole<T>(decls: CstNode[], recovering: boolean): T[] {
    if (!recovering) return decls.map((n) => this.visit(n) as T);
    return decls.filter(intact).flatMap((n) => {
      try {
        return [this.visit(n) as T];
      } catch {
        return []; // a shape `intact` did not foresee; the syntax error is reported all the same
      }
    });
  }

  importDecl(ctx: Ctx): A.ImportDecl {
    const path = tok(ctx, 'path');
    return { kind: 'import', spec: unquote(path.image), loc: this.loc(tok(ctx, 'Import'), path) };
  }

  topDecl(ctx: Ctx): A.TopDecl {
    return this.visit(only(ctx));
  }

  configDecl(ctx: Ctx): A.ConfigDecl {
    const value = node(ctx, 'value');
    return { kind: 'config', name: this.ident(tok(ctx, 'name')), type: this.visit(node(ctx, 'scalarType')), value: this.sub(value), loc: this.loc(tok(ctx, 'Config'), value) };
  }

  constDecl(ctx: Ctx): A.ConstDecl {
    const value = node(ctx, 'value');
    const decl: A.ConstDecl = { kind: 'const', name: this.ident(tok(ctx, 'name')), value: this.sub(value), loc: this.loc(tok(ctx, 'Const'), value) };
    if (ctx.scalarType) decl.type = this.visit(node(ctx, 'scalarType'));
    return decl;
  }

  dimDecl(ctx: Ctx): A.DimDecl {
    const names = toks(ctx, 'names');
    return { kind: 'dim', names: names.map((t) => this.ident(t)), loc: this.loc(tok(ctx, 'Dim'), names[names.length - 1]) };
  }

  scalarType(ctx: Ctx): A.ScalarTypeName {
    return tok(ctx, 'name').image as A.ScalarTypeName;
  }

  fnDecl(ctx: Ctx): A.FnDecl {
    const body = node(ctx, 'body');
    return {
      kind: 'fn',
      name: this.ident(tok(ctx, 'name')),
      dimParams: toks(ctx, 'dimParams').map((t) => this.ident(t)),
      params: nodes(ctx, 'params').map((n) => this.visit(n) as A.FnParam),
      returnType: this.visit(node(ctx, 'returnType')),
      body: this.visit(body),
      loc: this.loc(tok(ctx, 'Fn'), body),
    };
  }

  fnParam(ctx: Ctx): A.FnParam {
    const type = node(ctx, 'type');
    return { name: this.ident(tok(ctx, 'name')), type: this.visit(type), loc: this.loc(tok(ctx, 'name'), type) };
  }

  moduleDecl(ctx: Ctx): A.ModuleDecl {
    return {
      kind: 'module',
      name: this.ident(tok(ctx, 'name')),
      params: nodes(ctx, 'params').map((n) => this.visit(n) as A.ModuleParam),
      members: nodes(ctx, 'members').map((n) => this.visit(n) as A.ModuleMember),
      loc: this.loc(tok(ctx, 'Module'), tok(ctx, 'RBrace')),
    };
  }

  modParam(ctx: Ctx): A.ModuleParam {
    const type = ctx.scalarType ? node(ctx, 'scalarType') : tok(ctx, 'Module');
    const last = ctx.default ? node(ctx, 'default') : type;
    const param: A.ModuleParam = { name: this.ident(tok(ctx, 'name')), type: isToken(type) ? 'module' : this.visit(type), loc: this.loc(tok(ctx, 'name'), last) };
    if (ctx.default) param.default = this.sub(node(ctx, 'default'));
    return param;
  }

  member(ctx: Ctx): A.ModuleMember {
    return this.visit(only(ctx));
  }

  paramDecl(ctx: Ctx): A.ParamDecl {
    const init = node(ctx, 'init');
    return { kind: 'param', name: this.ident(tok(ctx, 'name')), type: this.visit(node(ctx, 'tensorType')), init: this.sub(init), loc: this.loc(tok(ctx, 'Param'), init) };
  }

  submodule(ctx: Ctx): A.SubmoduleDecl {
    const decl: A.SubmoduleDecl = { kind: 'submodule', name: this.ident(tok(ctx, 'name')), module: this.ident(tok(ctx, 'module')), args: this.argsOf(ctx), loc: this.loc(tok(ctx, 'name'), tok(ctx, 'RParen')) };
    if (ctx.count) decl.count = this.sub(node(ctx, 'count'));
    return decl;
  }

  modelDecl(ctx: Ctx): A.ModelDecl {
    return { kind: 'model', name: this.ident(tok(ctx, 'name')), module: this.ident(tok(ctx, 'module')), args: this.argsOf(ctx), loc: this.loc(tok(ctx, 'Model'), tok(ctx, 'RParen')) };
  }

  type(ctx: Ctx): A.TypeExpr {
    if (ctx.tensorType) return this.visit(node(ctx, 'tensorType'));
    const n = node(ctx, 'scalarType');
    return { kind: 'scalarType', name: this.visit(n), loc: this.loc(n) };
  }

  tensorType(ctx: Ctx): A.TensorTypeExpr {
    const dtype = tok(ctx, 'dtype');
    return { kind: 'tensorType', dtype: dtype.image as A.DTypeName, dims: nodes(ctx, 'dims').map((n) => this.visit(n) as A.DimExpr), loc: this.loc(dtype, tok(ctx, 'RBracket')) };
  }

  dimItem(ctx: Ctx): A.DimExpr {
    return ctx.Ellipsis ? { kind: 'ellipsis', loc: this.loc(tok(ctx, 'Ellipsis')) } : this.sub(node(ctx, 'expr'));
  }

  block(ctx: Ctx): A.Block {
    return { stmts: nodes(ctx, 'stmts').map((n) => this.visit(n) as A.Stmt), loc: this.loc(tok(ctx, 'LBrace'), tok(ctx, 'RBrace')) };
  }

  stmt(ctx: Ctx): A.Stmt {
    return this.visit(only(ctx));
  }

  letStmt(ctx: Ctx): A.LetStmt {
    const value = node(ctx, 'value');
    const stmt: A.LetStmt = { kind: 'let', name: this.ident(tok(ctx, 'name')), value: this.sub(value), loc: this.loc(tok(ctx, 'Let'), value) };
    if (ctx.type) stmt.type = this.visit(node(ctx, 'type'));
    return stmt;
  }

  assignStmt(ctx: Ctx): A.AssignStmt {
    const value = node(ctx, 'value');
    return { kind: 'assign', name: this.ident(tok(ctx, 'name')), value: this.sub(value), loc: this.loc(tok(ctx, 'name'), value) };
  }

  forStmt(ctx: Ctx): A.ForStmt {
    const body = node(ctx, 'body');
    return { kind: 'for', variable: this.ident(tok(ctx, 'variable')), iterable: this.sub(node(ctx, 'iterable')), body: this.visit(body), loc: this.loc(tok(ctx, 'For'), body) };
  }

  returnStmt(ctx: Ctx): A.ReturnStmt {
    const value = node(ctx, 'value');
    return { kind: 'return', value: this.sub(value), loc: this.loc(tok(ctx, 'Return'), value) };
  }

  // ------------------------------------------------------------------------ expressions

  args(ctx: Ctx): A.Arg[] {
    return nodes(ctx, 'items').map((n) => this.visit(n) as A.Arg);
  }

  arg(ctx: Ctx): A.Arg {
    const value = node(ctx, 'value');
    const arg: A.Arg = { value: this.sub(value), loc: this.loc(ctx.name ? tok(ctx, 'name') : value, value) };
    if (ctx.name) arg.name = this.ident(tok(ctx, 'name'));
    return arg;
  }

  expr(ctx: Ctx): A.Expr {
    return this.sub(node(ctx, 'additive'));
  }

  additive(ctx: Ctx): A.Expr {
    return this.leftAssociative(ctx);
  }

  multiplicative(ctx: Ctx): A.Expr {
    return this.leftAssociative(ctx);
  }

  /** `a - b - c` = `(a - b) - c`; each node spans from the first operand to its right operand. */
  private leftAssociative(ctx: Ctx): A.Expr {
    const operands = nodes(ctx, 'operands');
    let result = this.sub(operands[0]);
    toks(ctx, 'operators').forEach((op, i) => {
      const right = operands[i + 1];
      result = this.binary(op, result, this.sub(right), operands[0], right);
    });
    return result;
  }

  private binary(op: IToken, left: A.Expr, right: A.Expr, first: CstElement, last: CstElement): A.BinaryExpr {
    return { kind: 'binary', op: op.image as A.BinaryExpr['op'], left, right, opLoc: this.loc(op), loc: this.loc(first, last) };
  }

  unary(ctx: Ctx): A.Expr {
    if (!ctx.Minus) return this.sub(node(ctx, 'power'));
    const operand = node(ctx, 'operand');
    return { kind: 'unary', op: '-', operand: this.sub(operand), loc: this.loc(tok(ctx, 'Minus'), operand) };
  }

  power(ctx: Ctx): A.Expr {
    const base = node(ctx, 'base');
    if (!ctx.StarStar) return this.sub(base);
    const exponent = node(ctx, 'exponent');
    return this.binary(tok(ctx, 'StarStar'), this.sub(base), this.sub(exponent), base, exponent);
  }

  postfix(ctx: Ctx): A.Expr {
    const from = node(ctx, 'primary');
    let target = this.sub(from);
    for (const s of nodes(ctx, 'suffixes')) target = this.visit(s, { target, from });
    return target;
  }

  /** Applies a call or member access to `target`, which began at `from`. */
  suffix(ctx: Ctx, { target, from }: { target: A.Expr; from: CstNode }): A.Expr {
    if (ctx.Dot) {
      const member = tok(ctx, 'member');
      return { kind: 'member', object: target, member: this.ident(member), loc: this.loc(from, member) };
    }
    return { kind: 'call', callee: target, args: this.argsOf(ctx), loc: this.loc(from, tok(ctx, 'RParen')) };
  }

  primary(ctx: Ctx): A.Expr {
    if (ctx.number) {
      const t = tok(ctx, 'number');
      return { kind: 'number', value: Number(t.image), isFloat: /[.eE]/.test(t.image), loc: this.loc(t) };
    }
    if (ctx.bool) {
      const t = tok(ctx, 'bool');
      return { kind: 'bool', value: t.image === 'true', loc: this.loc(t) };
    }
    if (ctx.string) {
      const t = tok(ctx, 'string');
      return { kind: 'string', value: unquote(t.image), loc: this.loc(t) };
    }
    if (ctx.name) {
      const t = tok(ctx, 'name');
      return { kind: 'name', name: t.image, loc: this.loc(t) };
    }
    // A parenthesised expression is its inner node: parentheses only group.
    if (ctx.inner) return this.sub(node(ctx, 'inner'));
    return this.sub(node(ctx, ctx.table ? 'table' : ctx.matchExpr ? 'matchExpr' : 'list'));
  }

  list(ctx: Ctx): A.ListExpr {
    return { kind: 'list', items: nodes(ctx, 'items').map((n) => this.sub(n)), loc: this.loc(tok(ctx, 'LBracket'), tok(ctx, 'RBracket')) };
  }

  table(ctx: Ctx): A.TableExpr {
    const extents = nodes(ctx, 'extents');
    const indices = toks(ctx, 'indices').map((t, i) => ({ name: this.ident(t), extent: this.sub(extents[i]) }));
    const body = node(ctx, 'body');
    return { kind: 'table', indices, body: this.sub(body), loc: this.loc(tok(ctx, 'LBracket'), body) };
  }

  matchExpr(ctx: Ctx): A.MatchExpr {
    const arms = nodes(ctx, 'arms').map((n) => this.visit(n) as A.MatchArm);
    return { kind: 'match', subject: this.sub(node(ctx, 'subject')), arms, loc: this.loc(tok(ctx, 'Match'), tok(ctx, 'RBrace')) };
  }

  matchArm(ctx: Ctx): A.MatchArm {
    const patterns = toks(ctx, 'patterns');
    const body = node(ctx, 'body');
    return { patterns: patterns.map((t) => ({ kind: 'string', value: unquote(t.image), loc: this.loc(t) })), body: this.sub(body), loc: this.loc(patterns[0], body) };
  }
}

/** The text of a string literal: quotes removed, the escapes `\"` and `\\` undone. */
function unquote(image: string): string {
  return image.slice(1, -1).replace(/\\(["\\])/g, '$1');
}

/** The AST of a parse tree. `recovering`: the parse had errors, so drop declarations that are incomplete. */
export function toAst(cst: CstNode, path: string, recovering: boolean): A.SourceFile {
  return new AstBuilder(path).visit(cst, recovering);
}
