// Calling a function: arguments are matched to the signature (binding shape variables and
// `...`), the body is inlined statement by statement, and the result is checked against the
// declared return type.

import type { Block, Expr, FnDecl, TypeExpr } from './ast.ts';
import type { SourceLocation } from './diagnostics.ts';
import { type Dim, dimEq, dimToString, shapeToString } from '../ir/dims.ts';
import { typeToString } from '../ir/types.ts';
import type { Elaborator } from './elaborate.ts';
import { fitsScalarType } from './elaborate.ts';
import { evalExpr, positiveDim } from './expressions.ts';
import { describe, type Instance, POISON, Scope, type Value } from './values.ts';
import { valueKey } from './budget.ts';

export interface ArgValue {
  name?: string;
  nameLoc?: SourceLocation;
  loc: SourceLocation;
  expr?: Expr;
  value: Value;
}

/** Shape variables of one call: `[N]` binds on first use, `...` binds once to a dim list. */
interface Bindings {
  scope: Scope;
  pending: Set<string>;
  ellipsis?: readonly Dim[];
}

/** Pairs call arguments with parameter names (positional first, then by name). */
export function pairArgs(
  el: Elaborator,
  what: string,
  params: readonly { name: string; hasDefault?: boolean }[],
  args: readonly ArgValue[],
  loc: SourceLocation,
): Map<string, ArgValue> | undefined {
  const out = new Map<string, ArgValue>();
  let ok = true;
  let positional = 0;
  for (const a of args) {
    if (a.name === undefined) {
      if (positional >= params.length) {
        el.error(a.loc, `${what} takes ${params.length} argument${params.length === 1 ? '' : 's'}, got ${args.length}`);
        return undefined;
      }
      out.set(params[positional++].name, a);
    } else if (!params.some((p) => p.name === a.name)) {
      el.error(a.nameLoc ?? a.loc, `${what} has no parameter '${a.name}' (parameters: ${params.map((p) => p.name).join(', ') || 'none'})`);
      ok = false;
    } else if (out.has(a.name)) {
      el.error(a.nameLoc ?? a.loc, `${what}: parameter '${a.name}' is given twice`);
      ok = false;
    } else out.set(a.name, a);
  }
  const missing = params.filter((p) => !out.has(p.name) && !p.hasDefault).map((p) => `'${p.name}'`);
  if (missing.length) {
    el.error(loc, `${what} takes ${params.length} argument${params.length === 1 ? '' : 's'}, got ${args.length} (missing ${missing.join(', ')})`);
    return undefined;
  }
  return ok ? out : undefined;
}

export function callFunction(el: Elaborator, fn: FnDecl, self: Instance | undefined, args: readonly ArgValue[], loc: SourceLocation): Value {
  const what = self ? `${self.decl.name.name}.${fn.name.name}` : fn.name.name;
  const paired = pairArgs(el, what, fn.params.map((p) => ({ name: p.name.name })), args, loc);
  if (!paired) return POISON;
  const scope = new Scope(self ? self.members : el.globals);
  const bind: Bindings = { scope, pending: new Set(fn.dimParams.map((d) => d.name)) };
  let ok = true;
  for (const p of fn.params) {
    const a = paired.get(p.name.name)!;
    if (a.value.kind === 'poison') ok = false;
    else {
      const problem = matchType(el, p.type, a.value, bind);
      if (problem) {
        el.error(a.loc, `argument '${p.name.name}' of ${what}: ${problem}`);
        ok = false;
      }
    }
    scope.define(p.name.name, a.value);
  }
  if (!ok) return POISON;
  // The same function on the same instance with arguments of the same types would unfold the same way forever.
  const key = fn.params.map((p) => valueKey(paired.get(p.name.name)!.value)).join('; ');
  return el.budget.within({ kind: 'call', decl: fn, self, key, name: what }, loc, POISON, () => {
    const result = execBody(el, fn.body, scope, what);
    if (result.kind === 'poison') return result;
    const problem = matchType(el, fn.returnType, result, { ...bind, pending: new Set() });
    if (problem) return el.error(fn.returnType.loc, `${what} returns ${describe(result)}, but its signature says ${problem.replace(/^expected /, '').replace(/, got .*$/, '')}`);
    return result;
  });
}

/** undefined when `v` fits `t` (binding shape variables on the way), else what was expected. */
export function matchType(el: Elaborator, t: TypeExpr, v: Value, bind: Bindings): string | undefined {
  if (t.kind === 'scalarType') return fitsScalarType(t.name, v) ? undefined : `expected ${t.name}, got ${describe(v)}`;
  if (v.kind !== 'tensor') return `expected a tensor ${t.dtype}[...], got ${describe(v)}`;
  const actual = v.type.shape;
  const ell = t.dims.findIndex((d) => d.kind === 'ellipsis');
  const fixed = t.dims.length - (ell >= 0 ? 1 : 0);
  const expectedText = () => `${t.dtype}${shapeToString(expectedShape(el, t, bind) ?? [])}`;
  if (v.type.dtype !== t.dtype || (ell < 0 ? actual.length !== fixed : actual.length < fixed))
    return `expected ${ell < 0 ? expectedText() : `${t.dtype} with at least ${fixed} dims`}, got ${typeToString(v.type)}`;
  const prefixLen = ell < 0 ? 0 : actual.length - fixed;
  let ai = 0;
  for (const d of t.dims) {
    if (d.kind === 'ellipsis') {
      const prefix = actual.slice(ai, ai + prefixLen);
      if (bind.ellipsis && !(bind.ellipsis.length === prefix.length && prefix.every((x, i) => dimEq(x, bind.ellipsis![i]))))
        return `expected leading dims ${shapeToString(bind.ellipsis)} (as bound by '...' earlier), got ${typeToString(v.type)}`;
      bind.ellipsis = prefix;
      ai += prefixLen;
      continue;
    }
    const got = actual[ai++];
    if (d.kind === 'name' && bind.pending.has(d.name)) {
      bind.pending.delete(d.name);
      bind.scope.define(d.name, { kind: 'dim', dim: got });
      continue;
    }
    const want = evalExpr(el, d, bind.scope);
    if (want.kind === 'poison') return undefined;
    if (want.kind !== 'dim') return `dimension ${ai - 1} of the declared type is ${describe(want)}, not a size`;
    if (!positiveDim(el, want.dim, d)) return undefined; // reported at the dimension itself
    if (!dimEq(want.dim, got)) return `expected ${expectedText()}, got ${typeToString(v.type)} (axis ${ai - 1}: ${dimToString(want.dim)} vs ${dimToString(got)})`;
  }
  return undefined;
}

/** The declared shape with what is bound so far, for messages. */
function expectedShape(el: Elaborator, t: Extract<TypeExpr, { kind: 'tensorType' }>, bind: Bindings): Dim[] | undefined {
  const out: Dim[] = [];
  for (const d of t.dims) {
    if (d.kind === 'ellipsis') {
      out.push(...(bind.ellipsis ?? []));
      continue;
    }
    if (d.kind === 'name' && bind.pending.has(d.name)) return undefined;
    const v = d.kind === 'name' ? bind.scope.lookup(d.name) : undefined;
    if (v?.kind === 'dim') out.push(v.dim);
    else {
      const e = evalExpr(el, d, bind.scope);
      if (e.kind !== 'dim') return undefined;
      out.push(e.dim);
    }
  }
  return out;
}

/** Runs a function body; the function's value is its final `return`. */
function execBody(el: Elaborator, body: Block, scope: Scope, what: string): Value {
  const last = body.stmts[body.stmts.length - 1];
  if (!last || last.kind !== 'return') return el.error(body.loc, `${what} must end with a return statement`);
  execStatements(el, body.stmts.slice(0, -1), scope, scope);
  return evalExpr(el, last.value, scope);
}

function execStatements(el: Elaborator, stmts: Block['stmts'], scope: Scope, fnScope: Scope): void {
  for (const s of stmts) {
    switch (s.kind) {
      case 'let': {
        if (scope.hasOwn(s.name.name)) {
          el.error(s.name.loc, `'${s.name.name}' is already defined in this block`);
          break;
        }
        const v = evalExpr(el, s.value, scope);
        if (s.type && v.kind !== 'poison') {
          const problem = matchType(el, s.type, v, { scope, pending: new Set() });
          if (problem) el.error(s.value.loc, `'${s.name.name}': ${problem}`);
        }
        scope.define(s.name.name, v);
        break;
      }
      case 'assign': {
        const old = scope.lookup(s.name.name);
        const v = evalExpr(el, s.value, scope);
        // A rejected assignment keeps the old value, so later uses report nothing further.
        if (old?.kind === 'tensor' && v.kind === 'tensor' && typeToString(old.type) !== typeToString(v.type)) {
          el.error(s.value.loc, `'${s.name.name}' was ${typeToString(old.type)} and would become ${typeToString(v.type)}; a variable keeps its type`);
          break;
        }
        if (!old || !scope.assign(s.name.name, v, fnScope))
          el.error(s.name.loc, `cannot assign to '${s.name.name}': declare it first with 'let' in this function`);
        break;
      }
      case 'for': {
        const it = evalExpr(el, s.iterable, scope);
        const items: Value[] =
          it.kind === 'instances' ? it.instances.map((instance) => ({ kind: 'instance', instance })) : it.kind === 'list' ? [...it.items] : [];
        if (it.kind !== 'instances' && it.kind !== 'list') {
          if (it.kind !== 'poison') el.error(s.iterable.loc, `cannot iterate over ${describe(it)} (expected a repeated submodule or a list)`);
          break;
        }
        for (const item of items) {
          const inner = new Scope(scope);
          inner.define(s.variable.name, item);
          execStatements(el, s.body.stmts, inner, fnScope);
        }
        break;
      }
      case 'return':
        el.error(s.loc, 'return must be the last statement of a function');
        break;
    }
  }
}
