// What a name or expression stands for while a model is elaborated into IR.
// Compile-time numbers and dims are one kind (an int is a concrete Dim), so `D / 2`, `3 * n_embd`
// and `B` all flow through the same arithmetic.

import type { Dim } from '../ir/dims.ts';
import { dimToString } from '../ir/dims.ts';
import type { TensorType } from '../ir/types.ts';
import { typeToString } from '../ir/types.ts';
import type { FnDecl, ModuleDecl } from './ast.ts';

/** A module instantiated at a path of the model tree (`transformer.h.3.attn`). */
export interface Instance {
  readonly path: string;
  readonly decl: ModuleDecl;
  /** module arguments, parameters and submodules, by name */
  readonly members: Scope;
}

export type Value =
  | { readonly kind: 'dim'; readonly dim: Dim } // an int, or a symbolic size such as S
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'string'; readonly value: string; readonly source?: StringSource }
  | { readonly kind: 'tensor'; readonly id: number; readonly type: TensorType }
  | { readonly kind: 'list'; readonly items: readonly Value[] }
  | { readonly kind: 'module'; readonly decl: ModuleDecl }
  | { readonly kind: 'instance'; readonly instance: Instance }
  | { readonly kind: 'instances'; readonly instances: readonly Instance[] }
  | { readonly kind: 'fn'; readonly decl: FnDecl; readonly self?: Instance }
  | { readonly kind: 'builtin'; readonly name: string }
  /** the result of an expression that already produced a diagnostic; silences follow-on errors */
  | { readonly kind: 'poison' };

export const POISON: Value = { kind: 'poison' };

/**
 * Where a string came from when not from the spec's own text: a config overridden by
 * config.json or --set (so a value no `match` accepts is reported against that file or flag),
 * or the stand-in for a `str` parameter of a function checked on its own (any arm may be taken).
 */
export type StringSource = { readonly kind: 'override'; readonly config: string; readonly origin: string } | { readonly kind: 'placeholder' };

/** A string for a one-line message: quoted and escaped (JSON), and cut short if long. */
export function quoteString(s: string, max = 60): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max - 3)}...` : s);
}

export function describe(v: Value): string {
  switch (v.kind) {
    case 'dim':
      return typeof v.dim === 'number' ? `int ${v.dim}` : `dimension ${dimToString(v.dim)}`;
    case 'float':
      return `float ${v.value}`;
    case 'bool':
      return `bool ${v.value}`;
    case 'string':
      return v.source?.kind === 'placeholder' ? 'a string' : `string ${quoteString(v.value)}`;
    case 'tensor':
      return typeToString(v.type);
    case 'list':
      return `a list of ${v.items.length}`;
    case 'module':
      return `module ${v.decl.name.name}`;
    case 'instance':
      return `an instance of ${v.instance.decl.name.name}`;
    case 'instances':
      return `${v.instances.length} instances of ${v.instances[0]?.decl.name.name ?? 'a module'}`;
    case 'fn':
      return `function ${v.decl.name.name}`;
    case 'builtin':
      return `builtin ${v.name}`;
    case 'poison':
      return 'an erroneous value';
  }
}

/** Lexical scopes: a chain of maps. Lookups walk outwards; `assign` rebinds where the name lives. */
export class Scope {
  private readonly vars = new Map<string, Value>();
  constructor(readonly parent?: Scope) {}

  lookup(name: string): Value | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }

  lookupOwn(name: string): Value | undefined {
    return this.vars.get(name);
  }

  ownNames(): string[] {
    return [...this.vars.keys()];
  }

  hasOwn(name: string): boolean {
    return this.vars.has(name);
  }

  define(name: string, v: Value): void {
    this.vars.set(name, v);
  }

  /** Rebinds an existing name in the scope that defines it; false if there is none up to `stop`. */
  assign(name: string, v: Value, stop?: Scope): boolean {
    if (this.vars.has(name)) {
      this.vars.set(name, v);
      return true;
    }
    if (this === stop) return false;
    return this.parent?.assign(name, v, stop) ?? false;
  }

  names(): string[] {
    return [...new Set([...this.vars.keys(), ...(this.parent?.names() ?? [])])];
  }
}
