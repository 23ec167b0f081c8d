// Bounds on the work one spec can ask of the front end, checked before the work they bound.
// The parser, the AST builder and the elaborator are recursive, so a hostile spec (300 nested
// parentheses, a 10,000-term sum, a module that contains itself) would otherwise end in a stack
// overflow, and a large one in a heap exhausted; each limit turns that into a diagnostic at the
// text that crosses it. Real specs are far inside every limit (spec/gpt2.rh: 4 KB, nesting 4,
// expressions 12 deep, calls and modules 6 deep).

import type { IToken, TokenType } from 'chevrotain';
import type { Diagnostic } from './diagnostics.ts';
import * as T from './lexer.ts';

/** Bytes of one .rh file, checked before it is read: 60 times spec/gpt2.rh, and its parse stays near 200 MB. */
export const MAX_SPEC_BYTES = 256 << 10;
/** Bytes of a file and everything it imports: each file is bounded, so their number must be too. */
export const MAX_PROGRAM_BYTES = 1 << 20;
/** Lexical and syntax errors shown for one file, and diagnostics of one command (the rest are counted). */
export const MAX_FILE_DIAGNOSTICS = 100;
export const MAX_DIAGNOSTICS = 200;
/** Open brackets, parentheses and braces (blocks) at once. */
export const MAX_NESTING = 64;
/** The depth of one expression's syntax tree, bounded from its tokens (see `checkTokens`). */
export const MAX_EXPR_DEPTH = 256;
/** Function calls (inlined) or module instantiations nested inside one another. */
export const MAX_CALL_DEPTH = 64;
/** Inlined calls, module instances and IR nodes of one elaboration, so `[10**9] Block()` or a chain of functions that each call the next twice ends. */
export const MAX_STEPS = 100_000;
/** Copies of one repeated submodule (`h = [n_layer] Block()`): refused before the first is built. GPT-2 XL has 48. */
export const MAX_REPEAT = 4096;

const OPENERS = new Set<TokenType>([T.LParen, T.LBracket, T.LBrace]);
const CLOSERS = new Set<TokenType>([T.RParen, T.RBracket, T.RBrace]);
/** Each adds a level to the tree of the expression it is in: binary and unary operators, `=>` of a table, `.` of a member. */
const OPERATORS = new Set<TokenType>([T.Plus, T.Minus, T.Star, T.Slash, T.At, T.StarStar, T.FatArrow, T.Dot]);
/** Tokens that an expression cannot continue through: what follows starts another one. */
const SEPARATORS = new Set<TokenType>([
  T.Comma, T.Colon, T.Equals, T.Arrow, T.Ellipsis,
  T.Import, T.Config, T.Const, T.Dim, T.Fn, T.Module, T.Param, T.Model, T.Let, T.For, T.In, T.Return,
]);
const OPERAND_START = new Set<TokenType>([T.Identifier, T.IntLiteral, T.FloatLiteral, T.StringLiteral, T.True, T.False, T.Int, T.Float, T.Bool, T.F32, T.F16, T.I32, T.I64]);
const OPERAND_END = new Set<TokenType>([...OPERAND_START, T.RParen, T.RBracket, T.RBrace]);

/** One open bracket (or the file itself): the expression segment being read at that level. */
interface Level {
  /** operators of the current segment at this level */
  ops: number;
  /** the deepest bracketed group closed in the current segment */
  inner: number;
  /** the deepest segment ended at this level: a group is as deep as its deepest part */
  ended: number;
}

/**
 * Checks the token stream before it is parsed: bracket nesting, and an upper bound on the depth
 * of each expression's tree. An expression's tree is no deeper than the number of operators
 * (and calls) in it at its own bracket level plus the depth of its deepest bracketed part, so
 * that sum, kept per level and reset where one expression ends, bounds every recursive walk
 * of it: the parser's, the AST builder's and the elaborator's. The first crossing is reported,
 * at the token that crosses it, and the file is not parsed.
 */
export function checkTokens(file: string, tokens: readonly IToken[]): Diagnostic | undefined {
  const levels: Level[] = [{ ops: 0, inner: 0, ended: 0 }];
  let prev: IToken | undefined;
  const at = (t: IToken, message: string): Diagnostic => ({
    severity: 'error',
    message,
    loc: { file, line: t.startLine ?? 1, column: t.startColumn ?? 1, length: Math.max(1, t.image.length) },
  });
  const tooDeep = (t: IToken) =>
    at(t, `expression too deep: more than ${MAX_EXPR_DEPTH} nested operations, calls and brackets (split it with 'let')`);
  for (const t of tokens) {
    const type = t.tokenType;
    const level = levels[levels.length - 1];
    const afterOperand = prev !== undefined && OPERAND_END.has(prev.tokenType);
    if (OPENERS.has(type)) {
      if (levels.length > MAX_NESTING) return at(t, `nested more than ${MAX_NESTING} deep (brackets, parentheses and blocks)`);
      // `f(x)` and `g(x)(y)`: a call is a node of the tree around its callee, as an operator is.
      if (type === T.LParen && afterOperand && ++level.ops + level.inner > MAX_EXPR_DEPTH) return tooDeep(t);
      levels.push({ ops: 0, inner: 0, ended: 0 });
    } else if (CLOSERS.has(type)) {
      if (levels.length > 1) {
        const closed = levels.pop()!;
        const parent = levels[levels.length - 1];
        parent.inner = Math.max(parent.inner, closed.ended, closed.ops + closed.inner + 1);
        if (parent.ops + parent.inner > MAX_EXPR_DEPTH) return tooDeep(t);
      }
    } else if (OPERATORS.has(type)) {
      if (++level.ops + level.inner > MAX_EXPR_DEPTH) return tooDeep(t);
    } else if (SEPARATORS.has(type) || (afterOperand && OPERAND_START.has(type))) {
      level.ended = Math.max(level.ended, level.ops + level.inner + 1);
      level.ops = 0;
      level.inner = 0;
    }
    prev = t;
  }
  return undefined;
}
