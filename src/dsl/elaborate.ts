// The checker and lowerer in one walk: a `model` is elaborated by instantiating its module
// tree with the resolved configuration (creating one `param` node per parameter, named by
// its path) and inlining every call, checking each dimension and dtype as the IR is built.
// Errors become diagnostics at the offending text; a poisoned value silences follow-on errors.

import { DTYPE_NAMES, isDType } from '../ir/dtypes.ts';
import type { Arg, CallExpr, FnDecl, MemberExpr, ModelDecl, ScalarTypeName, SourceFile, TopDecl } from './ast.ts';
import type { Diagnostic, SourceLocation } from './diagnostics.ts';
import { type Dim, dimSymbols, sym } from '../ir/dims.ts';
import { type Attrs, type Graph, GraphBuilder } from '../ir/graph.ts';
import type { OpName } from '../ir/registry.ts';
import { OpTypeError } from '../ir/types.ts';
import { evalExpr, positiveDim } from './expressions.ts';
import { BUILTINS, callBuiltin } from './builtins.ts';
import { callFunction, type ArgValue } from './functions.ts';
import { resolveConfig, type ConfigOverride } from './config.ts';
import { instantiate } from './modules.ts';
import { describe, type Instance, POISON, Scope, type Value } from './values.ts';
import { closestName } from './suggest.ts';
import { Budget, isStackOverflow } from './budget.ts';
import { LOGITS_OUTPUT } from '../ir/calling-convention.ts';

export interface ElaborateOptions {
  overrides?: readonly ConfigOverride[];
}

export class Elaborator {
  readonly diagnostics: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  readonly globals = new Scope();
  readonly b = new GraphBuilder();
  // Config names come from specs: a plain object would drop `__proto__` (it sets the prototype).
  readonly config: Record<string, number | boolean | string> = Object.create(null);
  readonly symbols: string[] = [];
  /** calls and instantiations in progress and the work done: recursion and runaway size become diagnostics */
  readonly budget = new Budget((loc, message) => void this.error(loc, message));

  constructor(readonly files: readonly SourceFile[], opts: ElaborateOptions = {}) {
    this.guard(undefined, () => this.declareGlobals(opts.overrides ?? []));
  }

  /**
   * Runs one unit of elaboration (the globals, a model, a function checked on its own). The
   * limits keep every real spec far from the end of the stack; should one still reach it, that
   * becomes a diagnostic at the innermost call or instantiation in progress (else at `loc`).
   */
  guard<T>(loc: SourceLocation | undefined, body: () => T): T | undefined {
    try {
      return body();
    } catch (e) {
      if (!isStackOverflow(e)) throw e;
      this.error(this.budget.overflowAt ?? loc, 'spec too deeply nested: the compiler ran out of stack here (calls, modules and expressions nested too deep; split them up)');
      this.budget.reset();
      return undefined;
    }
  }

  // ------------------------------------------------------------------ diagnostics

  error(loc: SourceLocation | undefined, message: string): Value {
    // Inlined functions run once per call site; report each distinct problem once.
    const key = `${loc?.file}:${loc?.line}:${loc?.column}:${message}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.diagnostics.push({ severity: 'error', message, loc });
    }
    return POISON;
  }

  get failed(): boolean {
    return this.diagnostics.length > 0;
  }

  // ------------------------------------------------------------------ IR emission

  /** Adds an IR node; a type-rule failure becomes a diagnostic at `loc`. */
  op(op: OpName, inputs: readonly Value[], attrs: Attrs, loc: SourceLocation, hint?: string): Value {
    if (!this.budget.step(loc)) return POISON;
    const ids: number[] = [];
    for (const v of inputs) {
      if (v.kind === 'poison') return POISON;
      if (v.kind !== 'tensor') return this.error(loc, `${op}: expected a tensor, got ${describe(v)}`);
      ids.push(v.id);
    }
    try {
      const id = this.b.add(op, ids, attrs, hint);
      return { kind: 'tensor', id, type: this.b.type(id) };
    } catch (e) {
      if (e instanceof OpTypeError) return this.error(loc, e.message);
      throw e;
    }
  }

  // ------------------------------------------------------------------ names

  childScope(parent: Scope): Scope {
    return new Scope(parent);
  }

  lookup(name: string, scope: Scope, loc: SourceLocation): Value {
    const v = scope.lookup(name);
    if (v) return v;
    if (BUILTINS.has(name)) return { kind: 'builtin', name };
    const guess = closestName(name, [...scope.names(), ...BUILTINS.keys()]);
    return this.error(loc, `unknown name '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}`);
  }

  member(e: MemberExpr, scope: Scope): Value {
    const obj = evalExpr(this, e.object, scope);
    if (obj.kind === 'poison') return obj;
    if (obj.kind !== 'instance') return this.error(e.member.loc, `'.${e.member.name}': ${describe(obj)} has no members`);
    const v = obj.instance.members.lookupOwn(e.member.name);
    if (v) return v;
    const guess = closestName(e.member.name, obj.instance.members.ownNames());
    return this.error(e.member.loc, `${obj.instance.decl.name.name} has no member '${e.member.name}'${guess ? ` (did you mean '${guess}'?)` : ''}`);
  }

  call(e: CallExpr, scope: Scope): Value {
    const callee = evalExpr(this, e.callee, scope);
    if (callee.kind === 'poison') return callee;
    const args: ArgValue[] = e.args.map((a: Arg) => ({ name: a.name?.name, nameLoc: a.name?.loc, loc: a.value.loc, expr: a.value, value: evalExpr(this, a.value, scope) }));
    switch (callee.kind) {
      case 'builtin':
        return callBuiltin(this, callee.name, args, e.loc);
      case 'fn':
        return callFunction(this, callee.decl, callee.self, args, e.loc);
      case 'instance': {
        const fwd = callee.instance.members.lookupOwn('forward');
        if (fwd?.kind !== 'fn') return this.error(e.loc, `module ${callee.instance.decl.name.name} has no forward function to call`);
        return callFunction(this, fwd.decl, callee.instance, args, e.loc);
      }
      case 'module':
        return this.error(e.loc, `module ${callee.decl.name.name} is instantiated as a member of a module ('name = ${callee.decl.name.name}(...)'), not called`);
      default:
        return this.error(e.callee.loc, `${describe(callee)} is not callable`);
    }
  }

  // ------------------------------------------------------------------ declarations

  private declareGlobals(overrides: readonly ConfigOverride[]): void {
    const configNames = new Set<string>();
    for (const file of this.files)
      for (const d of file.decls) {
        if (d.kind === 'dim') {
          for (const n of d.names) this.define(n.name, { kind: 'dim', dim: sym(n.name) }, n.loc);
          continue;
        }
        if (d.kind === 'model') continue;
        if (d.kind === 'config') configNames.add(d.name.name);
        const v = this.declValue(d, overrides);
        this.define(d.name.name, v, d.name.loc);
        if (d.kind === 'config' && v.kind !== 'poison') this.config[d.name.name] = v.kind === 'dim' ? (v.dim as number) : (v as { value: number | boolean | string }).value;
      }
    for (const o of overrides)
      if (o.strict && !configNames.has(o.name)) {
        const guess = closestName(o.name, [...configNames]);
        this.error(undefined, `${o.origin}: unknown config '${o.name}'${guess ? ` (did you mean '${guess}'?)` : ''}; known: ${[...configNames].join(', ')}`);
      }
  }

  private declValue(d: Exclude<TopDecl, { kind: 'dim' | 'model' }>, overrides: readonly ConfigOverride[]): Value {
    switch (d.kind) {
      case 'config':
        return resolveConfig(this, d, overrides);
      case 'const': {
        const v = evalExpr(this, d.value, this.globals);
        if (v.kind === 'dim' && typeof v.dim !== 'number') return this.error(d.value.loc, `const ${d.name.name} must be known at compile time`);
        if (d.type && v.kind !== 'poison' && !fitsScalarType(d.type, v))
          return this.error(d.value.loc, `const ${d.name.name} is declared ${d.type} but is ${describe(v)}`);
        return v.kind === 'dim' && d.type === 'float' ? { kind: 'float', value: v.dim as number } : v;
      }
      case 'fn':
        return { kind: 'fn', decl: d };
      case 'module':
        return { kind: 'module', decl: d };
    }
  }

  private define(name: string, v: Value, loc: SourceLocation): void {
    if (this.globals.hasOwn(name) || BUILTINS.has(name)) {
      this.error(loc, `'${name}' is already defined${BUILTINS.has(name) ? ' as a builtin' : ''}`);
      return;
    }
    this.globals.define(name, v);
  }

  // ------------------------------------------------------------------ models

  /** Lowers `model name = Module(args)` to a graph whose forward inputs become graph inputs. */
  elaborateModel(m: ModelDecl): Graph | undefined {
    const mod = this.globals.lookup(m.module.name);
    if (mod?.kind !== 'module') {
      this.error(m.module.loc, mod ? `'${m.module.name}' is ${describe(mod)}, not a module` : `unknown module '${m.module.name}'`);
      return undefined;
    }
    const args: ArgValue[] = m.args.map((a) => ({ name: a.name?.name, nameLoc: a.name?.loc, loc: a.value.loc, expr: a.value, value: evalExpr(this, a.value, this.globals) }));
    const root = instantiate(this, mod.decl, args, '', m.loc);
    if (!root) return undefined;
    const forward = root.members.lookupOwn('forward');
    if (forward?.kind !== 'fn') {
      this.error(m.loc, `module ${mod.decl.name.name} has no forward function`);
      return undefined;
    }
    const result = this.callWithInputs(forward.decl, root, m.loc);
    if (this.failed || result?.kind !== 'tensor') return undefined;
    return this.b.finish(m.name.name, this.symbols, [{ name: LOGITS_OUTPUT, id: result.id }], this.config);
  }

  /**
   * Calls `fn` with one graph input per parameter, typed by its signature (symbolic dims stay
   * symbolic). `generic` is for checking a function on its own: `...` becomes one symbolic
   * dim and scalar parameters get placeholder values.
   */
  callWithInputs(fn: FnDecl, self: Instance | undefined, loc: SourceLocation, generic = false): Value | undefined {
    const scope = new Scope(self ? self.members : this.globals);
    for (const n of fn.dimParams) scope.define(n.name, { kind: 'dim', dim: sym(n.name) });
    const args: ArgValue[] = [];
    for (const p of fn.params) {
      if (p.type.kind !== 'tensorType') {
        if (!generic) return void this.error(p.loc, `a model's forward takes tensors; '${p.name.name}' is ${p.type.name}`);
        const placeholders: Record<typeof p.type.name, Value> = {
          int: { kind: 'dim', dim: sym(p.name.name) },
          float: { kind: 'float', value: 1 },
          bool: { kind: 'bool', value: true },
          str: { kind: 'string', value: '', source: { kind: 'placeholder' } },
        };
        const placeholder = placeholders[p.type.name];
        args.push({ loc: p.loc, value: placeholder });
        continue;
      }
      const shape: Dim[] = [];
      for (const d of p.type.dims) {
        if (d.kind === 'ellipsis') {
          if (!generic) return void this.error(d.loc, `a model's forward needs explicit dims ('...' is only for functions)`);
          shape.push(sym('_lead'));
          continue;
        }
        const v = evalExpr(this, d, scope);
        if (v.kind !== 'dim') return void (v.kind === 'poison' || this.error(d.loc, `expected a size, got ${describe(v)}`));
        if (!positiveDim(this, v.dim, d)) return undefined;
        shape.push(v.dim);
      }
      for (const s of shape.flatMap(dimSymbols)) if (!this.symbols.includes(s)) this.symbols.push(s);
      if (!isDType(p.type.dtype)) return void this.error(p.type.loc, `dtype ${p.type.dtype} is not supported yet (${DTYPE_NAMES.join(', ')})`);
      const id = this.b.add('input', [], { name: p.name.name, dtype: p.type.dtype, shape }, p.name.name);
      args.push({ loc: p.loc, value: { kind: 'tensor', id, type: this.b.type(id) } });
    }
    return callFunction(this, fn, self, args, loc);
  }
}

export function fitsScalarType(t: ScalarTypeName, v: Value): boolean {
  if (t === 'int') return v.kind === 'dim' && typeof v.dim === 'number';
  if (t === 'float') return v.kind === 'float' || (v.kind === 'dim' && typeof v.dim === 'number');
  if (t === 'str') return v.kind === 'string';
  return v.kind === 'bool';
}

