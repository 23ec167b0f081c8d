// Configuration values: a `config` declaration's default, overridden by a checkpoint's
// config.json and then by `--set name=value` (later overrides win).

import type { ConfigDecl } from './ast.ts';
import type { Elaborator } from './elaborate.ts';
import { evalExpr } from './expressions.ts';
import { describe, type Value } from './values.ts';

export interface ConfigOverride {
  name: string;
  /** strings come from the command line and are parsed by the config's declared type */
  value: number | boolean | string;
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

function convert(d: ConfigDecl, raw: number | boolean | string): Value | string {
  const text = String(raw);
  switch (d.type) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
      return Number.isInteger(n) ? { kind: 'dim', dim: n } : `expected an integer, got '${text}'`;
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
  const raw = dflt.kind === 'dim' && typeof dflt.dim === 'number' ? dflt.dim : dflt.kind === 'float' || dflt.kind === 'bool' ? dflt.value : undefined;
  let v = raw === undefined ? `got ${describe(dflt)}` : convert(d, raw);
  if (typeof v === 'string') return el.error(d.value.loc, `config ${d.name.name} is declared ${d.type}: its default ${v.replace(/^expected .*, got /, 'is ')}`);
  for (const o of overrides) {
    if (o.name !== d.name.name) continue;
    const c = convert(d, o.value);
    if (typeof c === 'string') return el.error(undefined, `${o.origin}: config ${o.name} (${d.type}): ${c}`);
    v = c;
  }
  return v;
}
