// Diagnostics are values with a location; they are rendered once, at the edge (the CLI).
// The single-problem error, RhcError, is in src/errors.ts.

export interface SourceLocation {
  file: string;
  /** 1-based line */
  line: number;
  /** 1-based column */
  column: number;
  /** length of the offending text, for the caret underline (>= 1) */
  length: number;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string;
  loc?: SourceLocation;
}

/** Several diagnostics at once (a file with three type errors reports all three), with the sources they quote. */
export class DiagnosticsError extends Error {
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly sources: SourceMap = new Map(),
  ) {
    super(diagnostics.map((d) => d.message).join('\n'));
    this.name = 'DiagnosticsError';
  }
}

/** Source text of every file seen, so diagnostics can quote the offending line. */
export type SourceMap = Map<string, string>;

/** `file:line:col: error: message`, then the source line and a caret under the offending text. */
export function renderDiagnostic(d: Diagnostic, sources: SourceMap): string {
  if (!d.loc) return `${d.severity}: ${d.message}`;
  const { file, line, column, length } = d.loc;
  const head = `${file}:${line}:${column}: ${d.severity}: ${d.message}`;
  const text = sources.get(file);
  const fullLine = text === undefined ? undefined : sourceLine(text, line);
  if (fullLine === undefined) return head;
  // A long line (a generated or hostile spec) is quoted around the column only.
  const from = fullLine.length > MAX_QUOTE ? Math.max(0, Math.min(column - 1 - MAX_QUOTE / 2, fullLine.length - MAX_QUOTE)) : 0;
  const lead = from > 0 ? '...' : '';
  const srcLine = lead + fullLine.slice(from, from + MAX_QUOTE) + (from + MAX_QUOTE < fullLine.length ? '...' : '');
  const col = column - from + lead.length;
  const gutter = `${String(line).padStart(4)} | `;
  const caretPad = ' '.repeat(gutter.length - 2) + '| ' + srcLine.slice(0, col - 1).replace(/[^\t]/g, ' ');
  return `${head}\n${gutter}${srcLine}\n${caretPad}${'^'.repeat(Math.max(1, Math.min(length, srcLine.length - col + 1)))}`;
}

const MAX_QUOTE = 160;

/** Line `line` (1-based) of `text`, found without splitting all of it. */
function sourceLine(text: string, line: number): string | undefined {
  let start = 0;
  for (let i = 1; i < line; i++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
}

/** The first `max` diagnostics, then one line counting the rest (`prefix` names where they are). */
export function capDiagnostics(diagnostics: readonly Diagnostic[], max: number, prefix = ''): Diagnostic[] {
  if (diagnostics.length <= max) return [...diagnostics];
  const more = diagnostics.length - max;
  return [...diagnostics.slice(0, max), { severity: 'error', message: `${prefix}${more} more error${more === 1 ? '' : 's'} not shown` }];
}
