// The front end's entry points: load a .rh file with its imports, check it, and lower a model
// to IR. Diagnostics are returned, never thrown; the CLI renders them.

import type { ModelDecl } from './ast.ts';
import type { Diagnostic, SourceMap } from './diagnostics.ts';
import type { Graph } from '../ir/graph.ts';
import { loadProgram, type Program } from './loader.ts';
import { Elaborator } from './elaborate.ts';
import type { ConfigOverride } from './config.ts';
import { instantiate } from './modules.ts';

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

/** Lowers the file's model (or the one named) with the given configuration overrides. */
export function compileModel(file: string, opts: { overrides?: readonly ConfigOverride[]; model?: string } = {}): CompileResult {
  const program = loadProgram(file);
  const out: CompileResult = { diagnostics: [...program.diagnostics], sources: program.sources };
  if (out.diagnostics.length) return out;
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
  const graph = el.failed ? undefined : el.elaborateModel(chosen);
  out.diagnostics.push(...el.diagnostics);
  if (graph && !el.failed) out.graph = graph;
  return out;
}

/**
 * Checks a file: every model it declares is lowered with the default configuration (plus
 * overrides), and every function and argument-free module of the file is checked generically,
 * its shape variables kept symbolic.
 */
export function checkFile(file: string, opts: { overrides?: readonly ConfigOverride[] } = {}): FrontEndResult {
  const program = loadProgram(file);
  const out: FrontEndResult = { diagnostics: [...program.diagnostics], sources: program.sources };
  if (out.diagnostics.length) return out;
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
    el.elaborateModel(m);
    report(el.diagnostics);
  }
  for (const d of program.root.decls) {
    if (d.kind === 'fn') generic.callWithInputs(d, undefined, d.loc, true);
    if (d.kind === 'module' && d.params.length === 0) {
      const inst = instantiate(generic, d, [], '', d.loc);
      const fwd = inst?.members.lookupOwn('forward');
      if (inst && fwd?.kind === 'fn') generic.callWithInputs(fwd.decl, inst, d.loc, true);
    }
  }
  report(generic.diagnostics);
  return out;
}
