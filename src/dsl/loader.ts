// Loads a .rh file and, transitively, what it imports. An import resolves relative to the
// importing file first, then by name in rhc's bundled spec library (so a user's project can
// `import "gpt2.rh"` without reaching into node_modules). Missing files, non-.rh paths and
// cycles are diagnostics at the import. Every file is read bounded (MAX_SPEC_BYTES, regular
// files only: a FIFO or /dev/zero is refused, not waited on), and so is their sum.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImportDecl, SourceFile } from './ast.ts';
import type { Diagnostic, SourceLocation, SourceMap } from './diagnostics.ts';
import { RhcError } from '../errors.ts';
import { parseSource } from './parse.ts';
import { MAX_PROGRAM_BYTES, MAX_SPEC_BYTES } from './limits.ts';
import { formatBytes, readTextFile } from '../io/files.ts';
import { PACKAGE_ROOT } from '../package.ts';

/** rhc's own spec library (spec/ at the package root). */
export const BUNDLED_SPEC_DIR = path.join(PACKAGE_ROOT, 'spec');

export interface Program {
  /** the file asked for */
  root: SourceFile;
  /** every file loaded, dependencies before dependents */
  files: SourceFile[];
  sources: SourceMap;
  diagnostics: Diagnostic[];
}

/** A path as shown in diagnostics: relative to the working directory when that is shorter. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}

function resolveImport(imp: ImportDecl, fromFile: string): string | undefined {
  const local = path.resolve(path.dirname(fromFile), imp.spec);
  if (fs.existsSync(local)) return local;
  const bundled = path.resolve(BUNDLED_SPEC_DIR, imp.spec);
  if (!imp.spec.includes('..') && fs.existsSync(bundled)) return bundled;
  return undefined;
}

export interface LoadOptions {
  /**
   * `file`'s own text, used instead of reading it (a spec given as source text, as if it were the
   * file at that path): its imports still resolve from there, and are read from disk.
   */
  text?: string;
}

/** The text given for the root file, under the same bound as a spec read from disk. */
function givenText(shown: string, text: string): string {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_SPEC_BYTES) throw new RhcError(`cannot read spec ${shown}: it is ${formatBytes(bytes)}, more than the ${formatBytes(MAX_SPEC_BYTES)} a spec may be`);
  return text;
}

export function loadProgram(file: string, sources: SourceMap = new Map(), opts: LoadOptions = {}): Program {
  const rootAbs = path.resolve(file);
  const diagnostics: Diagnostic[] = [];
  const files: SourceFile[] = [];
  const loaded = new Map<string, SourceFile>();
  const onStack: string[] = [];
  let total = 0;

  /** `importedAt`: the import that asked for the file, where a problem reading it is reported. */
  const load = (abs: string, importedAt?: SourceLocation): SourceFile | undefined => {
    const done = loaded.get(abs);
    if (done) return done;
    const shown = displayPath(abs);
    let text: string;
    try {
      text = abs === rootAbs && opts.text !== undefined ? givenText(shown, opts.text) : readTextFile(shown, { maxBytes: MAX_SPEC_BYTES, what: 'spec' });
    } catch (e) {
      if (!(e instanceof RhcError)) throw e;
      diagnostics.push({ severity: 'error', message: e.message, loc: importedAt });
      return undefined;
    }
    total += Buffer.byteLength(text);
    if (total > MAX_PROGRAM_BYTES) {
      const message = `cannot read spec ${shown}: with the files loaded before it, the spec is more than ${formatBytes(MAX_PROGRAM_BYTES)} in all`;
      diagnostics.push({ severity: 'error', message, loc: importedAt });
      return undefined;
    }
    sources.set(shown, text);
    const parsed = parseSource(shown, text);
    for (const d of parsed.diagnostics) diagnostics.push(d);
    onStack.push(abs);
    for (const imp of parsed.file.imports) {
      if (!imp.spec.endsWith('.rh')) {
        diagnostics.push({ severity: 'error', message: `cannot import "${imp.spec}": only .rh files can be imported`, loc: imp.loc });
        continue;
      }
      const target = resolveImport(imp, abs);
      if (!target) {
        diagnostics.push({
          severity: 'error',
          message: `cannot find "${imp.spec}" (looked in ${displayPath(path.dirname(abs))} and in rhc's spec library)`,
          loc: imp.loc,
        });
        continue;
      }
      const cycleAt = onStack.indexOf(target);
      if (cycleAt >= 0) {
        const chain = [...onStack.slice(cycleAt), target].map((f) => path.basename(f)).join(' -> ');
        diagnostics.push({ severity: 'error', message: `import cycle: ${chain}`, loc: imp.loc });
        continue;
      }
      load(target, imp.loc);
    }
    onStack.pop();
    loaded.set(abs, parsed.file);
    files.push(parsed.file);
    return parsed.file;
  };

  const root = load(rootAbs);
  return { root: root ?? { path: displayPath(file), imports: [], decls: [] }, files, sources, diagnostics };
}
