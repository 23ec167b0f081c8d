// The abstract syntax of a `.rh` file: what the parser produces and the elaborator consumes.
// Every node carries `loc` so each diagnostic can point at the text that caused it.
// docs/language.md describes the language these nodes encode.

import type { SourceLocation } from './diagnostics.ts';

export interface Node {
  loc: SourceLocation;
}

export interface Identifier extends Node {
  name: string;
}

// ---------------------------------------------------------------------------- file

export interface SourceFile {
  path: string;
  imports: ImportDecl[];
  decls: TopDecl[];
}

/** `import "gpt2.rh"` — every top-level name of that file becomes visible here. */
export interface ImportDecl extends Node {
  kind: 'import';
  /** the path as written, without quotes */
  spec: string;
}

export type TopDecl = ConfigDecl | ConstDecl | DimDecl | FnDecl | ModuleDecl | ModelDecl;

/** `config n_embd: int = 1024` — overridable by `--set` and by a checkpoint's config.json. */
export interface ConfigDecl extends Node {
  kind: 'config';
  name: Identifier;
  type: ScalarTypeName;
  value: Expr;
}

/** `const D: int = n_embd / n_head` (the annotation is optional). */
export interface ConstDecl extends Node {
  kind: 'const';
  name: Identifier;
  type?: ScalarTypeName;
  value: Expr;
}

/** `dim B, S` — symbolic dimensions, sized at run time. */
export interface DimDecl extends Node {
  kind: 'dim';
  names: Identifier[];
}

/** `str` holds a compile-time string, such as Hugging Face's activation_function; `match` selects on it. */
export type ScalarTypeName = 'int' | 'float' | 'bool' | 'str';

/** `fn name[N, M](x: f32[..., N], w: f32[N, M]) -> f32[..., M] { ... }` */
export interface FnDecl extends Node {
  kind: 'fn';
  name: Identifier;
  /** explicit shape variables, bound at each call by unification */
  dimParams: Identifier[];
  params: FnParam[];
  returnType: TypeExpr;
  body: Block;
}

export interface FnParam extends Node {
  name: Identifier;
  type: TypeExpr;
}

/**
 * `module Conv1D(nx: int, nf: int) { param weight: f32[nx, nf] = normal(0.02) ... fn forward(...) }`
 * Module arguments are compile-time scalars or other modules (`Rope: module`).
 */
export interface ModuleDecl extends Node {
  kind: 'module';
  name: Identifier;
  params: ModuleParam[];
  members: ModuleMember[];
}

export interface ModuleParam extends Node {
  name: Identifier;
  type: ScalarTypeName | 'module';
  default?: Expr;
}

export type ModuleMember = ParamDecl | SubmoduleDecl | FnDecl;

/** `param weight: f32[nx, nf] = normal(0.02)`; the initialiser is a call-like expression. */
export interface ParamDecl extends Node {
  kind: 'param';
  name: Identifier;
  type: TensorTypeExpr;
  init: Expr;
}

/** `c_attn = Conv1D(n_embd, 3 * n_embd)` or, repeated, `h = [n_layer] Block(Rope)` (named h.0, h.1, ...). */
export interface SubmoduleDecl extends Node {
  kind: 'submodule';
  name: Identifier;
  /** present for a repeated submodule */
  count?: Expr;
  /** the module (an identifier or a module-typed parameter) */
  module: Identifier;
  args: Arg[];
}

/** `model gp_norm = GPT2LMHeadModel(Rope = GPNormRope)` — an entry point that can be compiled. */
export interface ModelDecl extends Node {
  kind: 'model';
  name: Identifier;
  module: Identifier;
  args: Arg[];
}

// ---------------------------------------------------------------------------- types

export type TypeExpr = TensorTypeExpr | ScalarTypeExpr;

/** `f32[B, S, n_head, D / 2]`; `...` (at most once) stands for any number of leading dims. */
export interface TensorTypeExpr extends Node {
  kind: 'tensorType';
  dtype: DTypeName;
  dims: DimExpr[];
}

export type DTypeName = 'f32' | 'f16' | 'i32' | 'i64' | 'bool';

export type DimExpr = { kind: 'ellipsis'; loc: SourceLocation } | Expr;

export interface ScalarTypeExpr extends Node {
  kind: 'scalarType';
  name: ScalarTypeName;
}

// ---------------------------------------------------------------------------- statements

export interface Block extends Node {
  stmts: Stmt[];
}

export type Stmt = LetStmt | AssignStmt | ForStmt | ReturnStmt;

/** `let x = expr` or `let x: f32[B, S, E] = expr` (the annotation is checked). */
export interface LetStmt extends Node {
  kind: 'let';
  name: Identifier;
  type?: TypeExpr;
  value: Expr;
}

/** `x = expr` — rebinds a `let` of the enclosing function (used to thread a value through a loop). */
export interface AssignStmt extends Node {
  kind: 'assign';
  name: Identifier;
  value: Expr;
}

/** `for blk in h { x = blk(x, pos) }` — iterates a repeated submodule; unrolled when lowered. */
export interface ForStmt extends Node {
  kind: 'for';
  variable: Identifier;
  iterable: Expr;
  body: Block;
}

export interface ReturnStmt extends Node {
  kind: 'return';
  value: Expr;
}

// ---------------------------------------------------------------------------- expressions

export type Expr =
  | NumberLit
  | BoolLit
  | StringLit
  | NameExpr
  | UnaryExpr
  | BinaryExpr
  | CallExpr
  | MemberExpr
  | ListExpr
  | TableExpr
  | MatchExpr;

/** `1024`, `1e-5`, `10000.0`; `isFloat` is true when written with `.` or an exponent. */
export interface NumberLit extends Node {
  kind: 'number';
  value: number;
  isFloat: boolean;
}

export interface BoolLit extends Node {
  kind: 'bool';
  value: boolean;
}

export interface StringLit extends Node {
  kind: 'string';
  value: string;
}

export interface NameExpr extends Node {
  kind: 'name';
  name: string;
}

export interface UnaryExpr extends Node {
  kind: 'unary';
  op: '-';
  operand: Expr;
}

/** `**` is right-associative and binds tighter than unary minus on its left operand (`-x**2` = `-(x**2)`). */
export interface BinaryExpr extends Node {
  kind: 'binary';
  op: '+' | '-' | '*' | '/' | '@' | '**';
  left: Expr;
  right: Expr;
  /** location of the operator token itself */
  opLoc: SourceLocation;
}

/** `f(a, b, axis = -1)`; the callee is any postfix expression (`layer_norm`, `transformer.wte`). */
export interface CallExpr extends Node {
  kind: 'call';
  callee: Expr;
  args: Arg[];
}

export interface Arg extends Node {
  /** set for `name = value` arguments */
  name?: Identifier;
  value: Expr;
}

/** `transformer.wte.weight` */
export interface MemberExpr extends Node {
  kind: 'member';
  object: Expr;
  member: Identifier;
}

/** `[B, S, n_head, D]` — used for shapes and permutations. */
export interface ListExpr extends Node {
  kind: 'list';
  items: Expr[];
}

/**
 * `[h: n_head, i: D / 2] => exp(h / (n_head - 1)) * base ** (-(2 * i) / D)`
 * A tensor defined by an expression of its indices: index `k` is an i32 tensor that varies
 * along axis k; the body is broadcast to the full shape.
 */
export interface TableExpr extends Node {
  kind: 'table';
  indices: { name: Identifier; extent: Expr }[];
  body: Expr;
}

/**
 * `match activation_function { "gelu" => gelu(x), "relu" | "relu6" => relu(x) }` — chooses an
 * arm by a compile-time string while the model is elaborated; every arm is checked, one is lowered.
 */
export interface MatchExpr extends Node {
  kind: 'match';
  subject: Expr;
  arms: MatchArm[];
}

export interface MatchArm extends Node {
  /** the strings this arm stands for, as written (without quotes) */
  patterns: StringLit[];
  body: Expr;
}
