// The front end's entry points: load a .rh file with its imports, check it, and lower a model
// to IR. Diagnostics are returned, never thrown; the CLI renders them. Each unit of work runs
// under `Elaborator.guard`, so even a stack overflow is a diagnostic, not an internal error.

import type { ModelDecl } from './ast.ts';
import { capDiagnostics, type Diagnostic, type SourceMap } from './diagnostics.ts';
import type { Graph } from '../ir/graph.ts';
import { loadProgram, type Program } from './loader.ts';
import { Elaborator } from './elaborate.ts';
import type { ConfigOverride } from './config.ts';
import { instantiate } from './modules.ts';
import { MAX_DIAGNOSTICS } from './limits.ts';

export interface FrontEndResult {
  diagnostics: Diagnostic[];
  sources: SourceMap;
}

export interface CompileResult extends FrontEndResult {
  graph?: Graph;
}

function models(p: Program): ModelDecl[] {
  return p.root.decls.filter((d): d is ModelDecl => d.kind === 'model');
}

/** Lowers the file's model (or the one named) with the given configuration overrides; `text`: the file's source, given rather than read. */
export function compileModel(file: string, opts: { overrides?: readonly ConfigOverride[]; model?: string; text?: string } = {}): CompileResult {
  const program = loadProgram(file, undefined, { text: opts.text });
  const out: CompileResult = { diagnostics: [...program.diagnostics], sources: program.sources };
  if (out.diagnostics.length) return capped(out);
  const all = models(program);
  const chosen = opts.model ? all.find((m) => m.name.name === opts.model) : all[0];
  if (!chosen) {
    const known = all.map((m) => m.name.name).join(', ');
    out.diagnostics.push({
      severity: 'error',
      message: opts.model ? `${program.root.path} has no model '${opts.model}' (models: ${known || 'none'})` : `${program.root.path} declares no model (add 'model name = Module(...)')`,
    });
    return out;
  }
  const el = new Elaborator(program.files, { overrides: opts.overrides });
  const graph = el.failed ? undefined : el.guard(chosen.loc, () => el.elaborateModel(chosen));
  for (const d of el.diagnostics) out.diagnostics.push(d);
  if (graph && !el.failed) out.graph = graph;
  return capped(out);
}

/** At most MAX_DIAGNOSTICS, the rest counted: a spec with 40,000 wrong lines gets a readable answer. */
function capped<T extends FrontEndResult>(out: T): T {
  return { ...out, diagnostics: capDiagnostics(out.diagnostics, MAX_DIAGNOSTICS) };
}

/**
 * Checks a file: every model it declares is lowered with the default configuration (plus
 * overrides), and every function and argument-free module of the file is checked generically,
 * its shape variables kept symbolic. `text`: the file's source, given rather than read.
 */
export function checkFile(file: string, opts: { overrides?: readonly ConfigOverride[]; text?: string } = {}): FrontEndResult {
  const program = loadProgram(file, undefined, { text: opts.text });
  const out: FrontEndResult = { diagnostics: [...program.diagnostics], sources: program.sources };
  if (out.diagnostics.length) return capped(out);
  const seen = new Set<string>();
  const report = (ds: readonly Diagnostic[]) => {
    for (const d of ds) {
      const key = `${d.loc?.file}:${d.loc?.line}:${d.loc?.column}:${d.message}`;
      if (!seen.has(key)) out.diagnostics.push(d), seen.add(key);
    }
  };
  const generic = new Elaborator(program.files, { overrides: opts.overrides });
  report(generic.diagnostics);
  // Each model gets its own elaborator: a graph per model, with diagnostics merged.
  for (const m of models(program)) {
    const el = new Elaborator(program.files, { overrides: opts.overrides });
    el.guard(m.loc, () => el.elaborateModel(m));
    report(el.diagnostics);
  }
  for (const d of program.root.decls) {
    if (d.kind === 'fn') generic.guard(d.loc, () => generic.callWithInputs(d, undefined, d.loc, true));
    if (d.kind === 'module' && d.params.length === 0)
      generic.guard(d.loc, () => {
        const inst = instantiate(generic, d, [], '', d.loc);
        const fwd = inst?.members.lookupOwn('forward');
        if (inst && fwd?.kind === 'fn') generic.callWithInputs(fwd.decl, inst, d.loc, true);
      });
  }
  report(generic.diagnostics);
  return capped(out);
}
