// Instantiating a module: bind its arguments, create one `param` node per parameter (named by
// its path in the model tree, which is the checkpoint's tensor name) and instantiate its
// submodules recursively.

import type { Expr, ModuleDecl, ParamDecl } from './ast.ts';
import type { SourceLocation } from './diagnostics.ts';
import type { InitSpec } from '../ir/graph.ts';
import type { Elaborator } from './elaborate.ts';
import { fitsScalarType } from './elaborate.ts';
import { evalDim, evalExpr } from './expressions.ts';
import { pairArgs, type ArgValue } from './functions.ts';
import { describe, type Instance, POISON, Scope, type Value } from './values.ts';
import { valueKey } from './budget.ts';
import { MAX_REPEAT } from './limits.ts';

export function instantiate(el: Elaborator, decl: ModuleDecl, args: readonly ArgValue[], path: string, loc: SourceLocation): Instance | undefined {
  const members = new Scope(el.globals);
  const what = `module ${decl.name.name}`;
  const paired = pairArgs(el, what, decl.params.map((p) => ({ name: p.name.name, hasDefault: p.default !== undefined })), args, loc);
  if (!paired) return undefined;
  for (const p of decl.params) {
    const a = paired.get(p.name.name);
    const v = a ? a.value : evalExpr(el, p.default!, members);
    if (v.kind === 'poison') return undefined;
    const fits = p.type === 'module' ? v.kind === 'module' : fitsScalarType(p.type, v);
    if (!fits) {
      el.error(a?.loc ?? p.loc, `argument '${p.name.name}' of ${what}: expected ${p.type === 'module' ? 'a module' : p.type}, got ${describe(v)}`);
      return undefined;
    }
    members.define(p.name.name, p.type === 'float' && v.kind === 'dim' ? { kind: 'float', value: v.dim as number } : v);
  }
  // The same module with the same arguments inside itself would contain itself forever.
  const key = decl.params.map((p) => valueKey(members.lookupOwn(p.name.name)!)).join('; ');
  return el.budget.within({ kind: 'module', decl, key, name: decl.name.name }, loc, undefined, () => instantiateMembers(el, decl, path, members));
}

function instantiateMembers(el: Elaborator, decl: ModuleDecl, path: string, members: Scope): Instance {
  const instance: Instance = { path, decl, members };
  const prefix = path ? `${path}.` : '';
  for (const m of decl.members) {
    if (members.hasOwn(m.name.name)) {
      el.error(m.name.loc, `'${m.name.name}' is already defined in module ${decl.name.name}`);
      continue;
    }
    switch (m.kind) {
      case 'fn':
        members.define(m.name.name, { kind: 'fn', decl: m, self: instance });
        break;
      case 'param': {
        const v = declareParam(el, m, prefix + m.name.name, members);
        // A parameter that failed is poison, so its uses add no "unknown name" errors.
        members.define(m.name.name, v ?? POISON);
        break;
      }
      case 'submodule': {
        const mod = el.lookup(m.module.name, members, m.module.loc);
        if (mod.kind !== 'module') {
          if (mod.kind !== 'poison') el.error(m.module.loc, `'${m.module.name}' is ${describe(mod)}, not a module`);
          continue;
        }
        const subArgs: ArgValue[] = m.args.map((a) => ({ name: a.name?.name, nameLoc: a.name?.loc, loc: a.value.loc, expr: a.value, value: evalExpr(el, a.value, members) }));
        if (m.count === undefined) {
          const sub = instantiate(el, mod.decl, subArgs, prefix + m.name.name, m.loc);
          members.define(m.name.name, sub ? { kind: 'instance', instance: sub } : POISON);
          continue;
        }
        const count = evalDim(el, m.count, members);
        if (count === undefined) continue;
        if (typeof count !== 'number' || count < 0) {
          el.error(m.count.loc, `a repeat count must be a non-negative integer, got ${String(count)}`);
          continue;
        }
        if (count > MAX_REPEAT) {
          el.error(m.count.loc, `a repeat count of ${count.toLocaleString('en-US')} is more than the ${MAX_REPEAT.toLocaleString('en-US')} copies one submodule may have`);
          continue;
        }
        const list: Instance[] = [];
        for (let i = 0; i < count && !el.budget.exhausted; i++) {
          const sub = instantiate(el, mod.decl, subArgs, `${prefix}${m.name.name}.${i}`, m.loc);
          if (sub) list.push(sub);
        }
        members.define(m.name.name, { kind: 'instances', instances: list });
        break;
      }
    }
  }
  return instance;
}

function declareParam(el: Elaborator, p: ParamDecl, name: string, scope: Scope): Value | undefined {
  const shape: number[] = [];
  for (const d of p.type.dims) {
    if (d.kind === 'ellipsis') {
      el.error(d.loc, `parameter ${p.name.name} needs a concrete shape ('...' is only for function signatures)`);
      return undefined;
    }
    const dim = evalDim(el, d, scope);
    if (dim === undefined) return undefined;
    if (typeof dim !== 'number' || dim <= 0) {
      el.error(d.loc, `parameter ${p.name.name}: every dimension must be a positive compile-time integer, got ${String(dim)}`);
      return undefined;
    }
    shape.push(dim);
  }
  if (!Number.isSafeInteger(shape.reduce((n, d) => n * d, 1))) {
    el.error(p.type.loc, `parameter ${p.name.name} has ${shape.join(' x ')} elements, more than 2^53 - 1`);
    return undefined;
  }
  if (p.type.dtype !== 'f32') {
    el.error(p.type.loc, `parameter ${p.name.name}: only f32 parameters are supported, got ${p.type.dtype}`);
    return undefined;
  }
  const init = initSpec(el, p.init, scope);
  if (!init) return undefined;
  return el.op('param', [], { name, dtype: 'f32', shape, init }, p.name.loc, name);
}

/** `normal(0.02)`, `randn()`, `ones()`, `zeros()`. */
function initSpec(el: Elaborator, e: Expr, scope: Scope): InitSpec | undefined {
  const fail = () => {
    el.error(e.loc, `a parameter initialiser is one of normal(std), randn(), ones(), zeros()`);
    return undefined;
  };
  if (e.kind !== 'call' || e.callee.kind !== 'name') return fail();
  const name = e.callee.name;
  if ((name === 'ones' || name === 'zeros' || name === 'randn') && e.args.length === 0)
    return name === 'randn' ? { kind: 'normal', std: 1 } : { kind: name };
  if (name === 'normal' && e.args.length === 1) {
    const std = evalExpr(el, e.args[0].value, scope);
    const value = std.kind === 'float' ? std.value : std.kind === 'dim' && typeof std.dim === 'number' ? std.dim : NaN;
    if (!(value >= 0)) {
      el.error(e.args[0].loc, `normal(std) needs a non-negative number, got ${describe(std)}`);
      return undefined;
    }
    return { kind: 'normal', std: value };
  }
  return fail();
}
