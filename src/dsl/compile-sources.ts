// Lowering a model from .rh sources that are not on a file system: a page fetches them from
// its server. Imports resolve by plain file name through the same reader (rhc's spec library is
// one flat directory, and a served spec sits beside the files it imports); loader.ts keeps the
// CLI's relative-then-bundled rule on disk. The same byte limits apply. Browser-safe: the file
// loader and compile.ts reach node:fs, so this module imports neither.

import type { ModelDecl, SourceFile } from './ast.ts';
import { capDiagnostics, type Diagnostic, type SourceLocation } from './diagnostics.ts';
import type { CompileResult } from './compile.ts';
import type { ConfigOverride } from './config.ts';
import { Elaborator } from './elaborate.ts';
import { MAX_DIAGNOSTICS, MAX_PROGRAM_BYTES, MAX_SPEC_BYTES } from './limits.ts';
import { parseSource } from './parse.ts';

/** A spec file's text by plain name (`gp-norm.rh`); anything it cannot give is thrown, with a message. */
export type SpecReader = (name: string, maxBytes: number) => Promise<string>;

/** A plain file name: a served spec may not reach outside the directory it is served from. */
const PLAIN_SPEC_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\.rh$/;

/** Loads `root` and what it imports, dependencies first; problems are diagnostics at the import. */
async function loadSources(root: string, read: SpecReader): Promise<{ files: SourceFile[]; sources: Map<string, string>; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const files: SourceFile[] = [];
  const sources = new Map<string, string>();
  const loaded = new Set<string>();
  const onStack: string[] = [];
  let total = 0;

  const load = async (name: string, importedAt?: SourceLocation): Promise<void> => {
    if (loaded.has(name)) return;
    const cycleAt = onStack.indexOf(name);
    if (cycleAt >= 0) {
      diagnostics.push({ severity: 'error', message: `import cycle: ${[...onStack.slice(cycleAt), name].join(' -> ')}`, loc: importedAt });
      return;
    }
    if (!PLAIN_SPEC_NAME.test(name)) {
      diagnostics.push({ severity: 'error', message: `cannot load "${name}": here specs are read by plain .rh file name from one directory`, loc: importedAt });
      return;
    }
    let text: string;
    try {
      text = await read(name, MAX_SPEC_BYTES);
    } catch (e) {
      diagnostics.push({ severity: 'error', message: `cannot read spec ${name}: ${e instanceof Error ? e.message : String(e)}`, loc: importedAt });
      return;
    }
    total += new TextEncoder().encode(text).byteLength;
    if (total > MAX_PROGRAM_BYTES) {
      diagnostics.push({ severity: 'error', message: `cannot read spec ${name}: with the files loaded before it, the spec is more than ${MAX_PROGRAM_BYTES} bytes in all`, loc: importedAt });
      return;
    }
    sources.set(name, text);
    const parsed = parseSource(name, text);
    diagnostics.push(...parsed.diagnostics);
    onStack.push(name);
    for (const imp of parsed.file.imports) await load(imp.spec, imp.loc);
    onStack.pop();
    loaded.add(name);
    files.push(parsed.file);
  };

  await load(root);
  return { files, sources, diagnostics };
}

/** Lowers `root`'s model (or the one named) from sources given by `read`, as compileModel does from files. */
export async function compileModelFromSources(root: string, read: SpecReader, opts: { overrides?: readonly ConfigOverride[]; model?: string } = {}): Promise<CompileResult> {
  const { files, sources, diagnostics } = await loadSources(root, read);
  const out: CompileResult = { diagnostics, sources };
  const rootFile = files.find((f) => f.path === root);
  if (diagnostics.length || !rootFile) return capped(out);
  const models = rootFile.decls.filter((d): d is ModelDecl => d.kind === 'model');
  const chosen = opts.model ? models.find((m) => m.name.name === opts.model) : models[0];
  if (!chosen) {
    const known = models.map((m) => m.name.name).join(', ') || 'none';
    out.diagnostics.push({ severity: 'error', message: opts.model ? `${root} has no model '${opts.model}' (models: ${known})` : `${root} declares no model` });
    return out;
  }
  const el = new Elaborator(files, { overrides: opts.overrides });
  const graph = el.failed ? undefined : el.guard(chosen.loc, () => el.elaborateModel(chosen));
  out.diagnostics.push(...el.diagnostics);
  if (graph && !el.failed) out.graph = graph;
  return capped(out);
}

function capped(out: CompileResult): CompileResult {
  return { ...out, diagnostics: capDiagnostics(out.diagnostics, MAX_DIAGNOSTICS) };
}
