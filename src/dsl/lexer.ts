// Tokens of the `.rh` language (docs/language.md, "Lexical structure"), declared once.
// Each token's LABEL is how syntax errors name it ("expected ')'", "found 'let'").

import type { IToken, TokenType } from 'chevrotain';
import { createToken, Lexer } from './chevrotain.ts';
import type { Diagnostic } from './diagnostics.ts';

// ---------------------------------------------------------------------------- skipped

const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED, line_breaks: true });
const Comment = createToken({ name: 'Comment', pattern: /\/\/[^\r\n]*/, group: Lexer.SKIPPED });

// ---------------------------------------------------------------------------- names and keywords

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });

// Categories let one CONSUME accept several keywords; `bool` belongs to both.
export const ScalarType = createToken({ name: 'ScalarType', pattern: Lexer.NA, label: "a scalar type ('int', 'float', 'bool' or 'str')" });
export const DType = createToken({ name: 'DType', pattern: Lexer.NA, label: 'a dtype (f32, f16, i32, i64 or bool)' });

// `longer_alt` makes `model_dim` an identifier rather than `model` followed by `_dim`.
function keyword(word: string, categories: TokenType[] = []): TokenType {
  const name = word[0].toUpperCase() + word.slice(1);
  return createToken({ name, pattern: word, longer_alt: Identifier, categories, label: `'${word}'` });
}

export const Import = keyword('import');
export const Config = keyword('config');
export const Const = keyword('const');
export const Dim = keyword('dim');
export const Fn = keyword('fn');
export const Module = keyword('module');
export const Param = keyword('param');
export const Model = keyword('model');
export const Let = keyword('let');
export const For = keyword('for');
export const In = keyword('in');
export const Return = keyword('return');
export const Match = keyword('match');
export const True = keyword('true');
export const False = keyword('false');
export const Int = keyword('int', [ScalarType]);
export const Float = keyword('float', [ScalarType]);
export const Bool = keyword('bool', [ScalarType, DType]);
export const Str = keyword('str', [ScalarType]);
export const F32 = keyword('f32', [DType]);
export const F16 = keyword('f16', [DType]);
export const I32 = keyword('i32', [DType]);
export const I64 = keyword('i64', [DType]);

// ---------------------------------------------------------------------------- literals

export const NumberLiteral = createToken({ name: 'NumberLiteral', pattern: Lexer.NA, label: 'a number' });
// A float has a fraction or an exponent (or both); tried before IntLiteral so `1e-5` is one token.
export const FloatLiteral = createToken({
  name: 'FloatLiteral',
  pattern: /\d+(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+)/,
  categories: [NumberLiteral],
  label: 'a number',
});
export const IntLiteral = createToken({ name: 'IntLiteral', pattern: /\d+/, categories: [NumberLiteral], label: 'a number' });
export const StringLiteral = createToken({ name: 'StringLiteral', pattern: /"(?:[^"\\\r\n]|\\["\\])*"/, label: 'a string' });

// Malformed literals are recognised as tokens of their own so the error can say what is wrong;
// `tokenize` reports them and hands the parser a well-formed stand-in so parsing goes on.
const BadString = createToken({ name: 'BadString', pattern: /"(?:[^"\\\r\n]|\\.)*"?/ });
const BadNumber = createToken({ name: 'BadNumber', pattern: /\.\d+(?:[eE][+-]?\d+)?/ });

// ---------------------------------------------------------------------------- punctuation

function punct(name: string, text: string, categories: TokenType[] = []): TokenType {
  return createToken({ name, pattern: text, categories, label: `'${text}'` });
}

export const AdditiveOp = createToken({ name: 'AdditiveOp', pattern: Lexer.NA, label: "'+' or '-'" });
export const MultiplicativeOp = createToken({ name: 'MultiplicativeOp', pattern: Lexer.NA, label: "'*', '/' or '@'" });

export const LParen = punct('LParen', '(');
export const RParen = punct('RParen', ')');
export const LBracket = punct('LBracket', '[');
export const RBracket = punct('RBracket', ']');
export const LBrace = punct('LBrace', '{');
export const RBrace = punct('RBrace', '}');
export const Comma = punct('Comma', ',');
export const Colon = punct('Colon', ':');
export const Arrow = punct('Arrow', '->');
export const FatArrow = punct('FatArrow', '=>');
export const Equals = punct('Equals', '=');
export const Ellipsis = punct('Ellipsis', '...');
export const Dot = punct('Dot', '.');
export const Plus = punct('Plus', '+', [AdditiveOp]);
export const Minus = punct('Minus', '-', [AdditiveOp]);
export const StarStar = punct('StarStar', '**');
export const Star = punct('Star', '*', [MultiplicativeOp]);
export const Slash = punct('Slash', '/', [MultiplicativeOp]);
export const At = punct('At', '@', [MultiplicativeOp]);
export const Pipe = punct('Pipe', '|');

// ---------------------------------------------------------------------------- the lexer

/**
 * Every token type, in matching order: the lexer takes the first pattern that matches, so a
 * longer spelling precedes its prefix (`...` before `.`, `->` before `-`, `**` before `*`,
 * `//` before `/`, `int` before `in`) and keywords precede Identifier.
 */
export const vocabulary: TokenType[] = [
  WhiteSpace, Comment,
  // `int` before `in`: a keyword that is a prefix of another would otherwise win (`in` + `t`).
  Int, Float, Bool, Str, F32, F16, I32, I64,
  Import, Config, Const, Dim, Fn, Module, Param, Model, Let, For, In, Return, Match, True, False, Identifier,
  FloatLiteral, IntLiteral, StringLiteral, BadString,
  Ellipsis, BadNumber, Dot, Arrow, FatArrow, StarStar,
  LParen, RParen, LBracket, RBracket, LBrace, RBrace, Comma, Colon, Equals, Plus, Minus, Star, Slash, At, Pipe,
  ScalarType, DType, NumberLiteral, AdditiveOp, MultiplicativeOp,
];

export const rhLexer = new Lexer(vocabulary, { positionTracking: 'full' });

/** Becomes `stand-in` in the token stream after its problem has been reported. */
function retype(token: IToken, standIn: TokenType): void {
  token.tokenType = standIn;
  token.tokenTypeIdx = standIn.tokenTypeIdx!;
}

/**
 * Lexes `text`; every lexical problem becomes a Diagnostic (never an exception). Unreadable
 * characters are skipped; `afterSkipped` holds the token after each run of them, where the
 * parser is likely to stumble because of it.
 */
export function tokenize(file: string, text: string): { tokens: IToken[]; diagnostics: Diagnostic[]; afterSkipped: Set<IToken> } {
  const result = rhLexer.tokenize(text);
  const diagnostics: Diagnostic[] = result.errors.map((e) => {
    const bad = text.substr(e.offset, e.length);
    const message = bad.length === 1 ? `unexpected character '${bad}'` : `unexpected characters '${bad}'`;
    return { severity: 'error', message, loc: { file, line: e.line ?? 1, column: e.column ?? 1, length: Math.max(1, e.length) } };
  });
  for (const t of result.tokens) {
    const loc = { file, line: t.startLine ?? 1, column: t.startColumn ?? 1, length: t.image.length };
    if (t.tokenType === BadString) {
      const escape = /\\[^"\\]/.exec(t.image);
      const message =
        t.image.length > 1 && t.image.endsWith('"') && escape
          ? `unknown escape '${escape[0]}' in string (only \\" and \\\\ are allowed)`
          : 'unterminated string (a string must close with " on the same line)';
      diagnostics.push({ severity: 'error', message, loc });
      retype(t, StringLiteral);
    } else if (t.tokenType === BadNumber) {
      diagnostics.push({ severity: 'error', message: `a number needs a digit before '.': write '0${t.image}'`, loc });
      retype(t, FloatLiteral);
    } else if (t.tokenType === IntLiteral && !Number.isSafeInteger(Number(t.image))) {
      // Beyond 2^53 a double cannot hold every integer: 9007199254740993 would silently become ...992.
      diagnostics.push({ severity: 'error', message: `integer ${t.image} is too large: integers must be at most 2^53 - 1 = ${Number.MAX_SAFE_INTEGER}`, loc });
    } else if (t.tokenType === FloatLiteral && !Number.isFinite(Number(t.image))) {
      diagnostics.push({ severity: 'error', message: `number ${t.image} is too large: it overflows to infinity`, loc });
    }
  }
  // The token after each run of skipped characters; both lists are in source order.
  const afterSkipped = new Set<IToken>();
  let next = 0;
  for (const e of result.errors) {
    while (next < result.tokens.length && result.tokens[next].startOffset <= e.offset) next++;
    if (next < result.tokens.length) afterSkipped.add(result.tokens[next]);
  }
  return { tokens: result.tokens, diagnostics, afterSkipped };
}
