// Source text -> AST, with every lexical and syntax error as a Diagnostic (never an exception).

import type { CstNode, IRecognitionException, IToken } from 'chevrotain';
import { EOF } from './chevrotain.ts';
import type { SourceFile } from './ast.ts';
import { capDiagnostics, type Diagnostic, type SourceLocation } from './diagnostics.ts';
import { tokenize } from './lexer.ts';
import { checkTokens, MAX_FILE_DIAGNOSTICS } from './limits.ts';
import { isStackOverflow } from './budget.ts';
import { rhParser } from './parser.ts';
import { toAst } from './to-ast.ts';

/**
 * Parses one `.rh` file. When `diagnostics` holds errors, `file` holds only the declarations
 * that parsed whole, so later passes may still look at it (its imports, say) but must not
 * report "missing declaration" errors that the syntax errors explain.
 */
export function parseSource(path: string, text: string): { file: SourceFile; diagnostics: Diagnostic[] } {
  const lexed = tokenize(path, text);
  // Nesting beyond the limits would overflow the parser's stack: report it and parse nothing.
  const tooDeep = checkTokens(path, lexed.tokens);
  if (tooDeep) return { file: { path, imports: [], decls: [] }, diagnostics: capped(path, [...lexed.diagnostics, tooDeep]) };
  try {
    rhParser.input = lexed.tokens;
    const cst = rhParser.file();
    const diagnostics = [...lexed.diagnostics, ...withoutCascades(rhParser.errors, lexed.tokens, lexed.afterSkipped, cst).map((e) => syntaxError(path, e))];
    const file = cst ? toAst(cst, path, diagnostics.length > 0) : { path, imports: [], decls: [] };
    return { file, diagnostics: capped(path, diagnostics) };
  } catch (e) {
    // The last resort behind checkTokens: the limits keep real specs far from the end of the stack.
    if (!isStackOverflow(e)) throw e;
    const overflow: Diagnostic = { severity: 'error', message: 'spec too deeply nested to parse', loc: { file: path, line: 1, column: 1, length: 1 } };
    return { file: { path, imports: [], decls: [] }, diagnostics: capped(path, [...lexed.diagnostics, overflow]) };
  }
}

/** In source order, the first MAX_FILE_DIAGNOSTICS of them: a garbled file must not print a million lines. */
function capped(path: string, diagnostics: Diagnostic[]): Diagnostic[] {
  diagnostics.sort((a, b) => a.loc!.line - b.loc!.line || a.loc!.column - b.loc!.column);
  return capDiagnostics(diagnostics, MAX_FILE_DIAGNOSTICS, `${path}: `);
}

/**
 * Error recovery guesses a fix and goes on; a wrong guess makes the rest of that declaration
 * (and often the next token or two) look wrong as well. So only the first error in each
 * declaration (a function, or a top-level one) is kept, and none at the token right after
 * another error or after an unreadable character (the lexer has reported that one).
 */
function withoutCascades(errors: IRecognitionException[], tokens: IToken[], afterSkipped: Set<IToken>, cst: CstNode | undefined): IRecognitionException[] {
  const index = new Map(tokens.map((t, i) => [t, i]));
  const declAt = innermost(cst ? declarationSpans(cst) : []);
  const reported = new Set<Span>();
  let last = -Infinity;
  return errors.filter((e) => {
    if (afterSkipped.has(e.token)) return false;
    const i = index.get(e.token) ?? tokens.length; // EOF is past the last token
    const offset = e.token.startOffset;
    const decl = declAt(offset);
    if (i <= last + 1 || (decl && reported.has(decl))) return false;
    if (decl) reported.add(decl);
    last = i;
    return true;
  });
}

type Span = [from: number, to: number];

/**
 * The innermost span holding an offset, by binary search (a file with thousands of errors and
 * declarations must not take their product): spans are nested or disjoint, outer before inner.
 */
function innermost(spans: readonly Span[]): (offset: number) => Span | undefined {
  const parent: number[] = [];
  const open: number[] = [];
  spans.forEach(([from], k) => {
    while (open.length && spans[open[open.length - 1]][1] < from) open.pop();
    parent.push(open.length ? open[open.length - 1] : -1);
    open.push(k);
  });
  return (offset) => {
    let lo = 0;
    let hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid][0] <= offset) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo - 1; k >= 0; k = parent[k]) if (offset <= spans[k][1]) return spans[k];
    return undefined;
  };
}

/** The offsets of each top-level declaration and each function, outer before inner. */
function declarationSpans(n: CstNode, into: Span[] = []): Span[] {
  const l = n.location;
  if ((n.name === 'topDecl' || n.name === 'fnDecl') && l && l.endOffset !== undefined) into.push([l.startOffset, l.endOffset]);
  for (const children of Object.values(n.children)) for (const c of children) if (!('image' in c)) declarationSpans(c, into);
  return into;
}

/** `expected ')' after the arguments of the call, found 'let'`, pointing at what was found. */
function syntaxError(file: string, e: IRecognitionException): Diagnostic {
  const found = e.token;
  const atEnd = found.tokenType === EOF || isNaN(found.startOffset);
  const shown = atEnd ? 'end of file' : `'${found.image}'`;
  const message = e.message.startsWith('expected ') ? `${e.message}, found ${shown}` : e.message;
  return { severity: 'error', message, loc: atEnd ? after(file, previousToken(e)) : tokenLoc(file, found) };
}

function tokenLoc(file: string, t: IToken): SourceLocation {
  return { file, line: t.startLine ?? 1, column: t.startColumn ?? 1, length: Math.max(1, t.image.length) };
}

/** Just past the last real token, where a missing one belongs (line 1, column 1 in an empty file). */
function after(file: string, t: IToken | undefined): SourceLocation {
  if (!t || isNaN(t.startOffset)) return { file, line: 1, column: 1, length: 1 };
  return { file, line: t.endLine ?? 1, column: (t.endColumn ?? 0) + 1, length: 1 };
}

function previousToken(e: IRecognitionException): IToken | undefined {
  return (e as IRecognitionException & { previousToken?: IToken }).previousToken;
}
