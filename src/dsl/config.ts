// Configuration values: a `config` declaration's default, overridden by a checkpoint's
// config.json and then by `--set name=value` (later overrides win).

import type { ConfigDecl } from './ast.ts';
import type { Elaborator } from './elaborate.ts';
import { evalExpr } from './expressions.ts';
import { describe, quoteString, type Value } from './values.ts';

export interface ConfigOverride {
  name: string;
  /** strings come from the command line and are parsed by the config's declared type (unless `exact`) */
  value: number | boolean | string;
  /** a JSON value (config.json), taken as it is: a string is only a `str` config's value, never parsed as a number */
  exact?: boolean;
  /** where it came from, for messages: `--set`, `config.json` */
  origin: string;
  /** unknown names are errors for --set, silently ignored for config.json's other keys */
  strict: boolean;
}

/** Parses `name=value` as given to --set. */
export function parseSetOption(text: string): ConfigOverride {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`--set expects name=value, got '${text}'`);
  return { name: text.slice(0, eq).trim(), value: text.slice(eq + 1).trim(), origin: '--set', strict: true };
}

/** An int config value written as text (`--set n_layer=2`): decimal digits only, else NaN. */
export function intFromText(text: string): number {
  return /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
}

function convert(d: ConfigDecl, raw: number | boolean | string, exact: boolean): Value | string {
  const text = String(raw);
  if (d.type === 'str') return typeof raw === 'string' ? { kind: 'string', value: raw } : `expected a string, got ${text}`;
  if (exact && typeof raw === 'string') return `expected ${{ int: 'an integer', float: 'a number', bool: 'true or false' }[d.type]}, got the string ${quoteString(raw)}`;
  switch (d.type) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : intFromText(text);
      // Beyond 2^53 a double skips integers: 2^53 + 1 would silently become 2^53.
      if (Number.isInteger(n) && !Number.isSafeInteger(n)) return `expected an integer, got '${text}', beyond 2^53 - 1 = ${Number.MAX_SAFE_INTEGER}`;
      return Number.isSafeInteger(n) ? { kind: 'dim', dim: n } : `expected an integer, got '${text}'`;
    }
    case 'float': {
      const n = typeof raw === 'number' ? raw : text.trim() === '' ? NaN : Number(text);
      return Number.isFinite(n) ? { kind: 'float', value: n } : `expected a number, got '${text}'`;
    }
    case 'bool':
      if (raw === true || text === 'true') return { kind: 'bool', value: true };
      if (raw === false || text === 'false') return { kind: 'bool', value: false };
      return `expected true or false, got '${text}'`;
  }
}

export function resolveConfig(el: Elaborator, d: ConfigDecl, overrides: readonly ConfigOverride[]): Value {
  const dflt = evalExpr(el, d.value, el.globals);
  if (dflt.kind === 'poison') return dflt;
  // `config n: int = 1e30` is a float where an int is declared, as it would be for a const.
  if (d.type === 'int' && dflt.kind === 'float') return el.error(d.value.loc, `config ${d.name.name} is declared int: its default is ${describe(dflt)}`);
  const raw =
    dflt.kind === 'dim' && typeof dflt.dim === 'number' ? dflt.dim : dflt.kind === 'float' || dflt.kind === 'bool' || dflt.kind === 'string' ? dflt.value : undefined;
  let v = raw === undefined ? `got ${describe(dflt)}` : convert(d, raw, true);
  if (typeof v === 'string') return el.error(d.value.loc, `config ${d.name.name} is declared ${d.type}: its default ${v.replace(/^expected .*, got /, 'is ')}`);
  for (const o of overrides) {
    if (o.name !== d.name.name) continue;
    const c = convert(d, o.value, o.exact === true);
    if (typeof c === 'string') return el.error(undefined, `${o.origin}: config ${o.name} (${d.type}): ${c}`);
    v = c.kind === 'string' ? { ...c, source: { kind: 'override', config: o.name, origin: o.origin } } : c;
  }
  return v;
}
