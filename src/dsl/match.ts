// `match s { "a" | "b" => x, "c" => y }`: a choice made while the model is elaborated, on a
// compile-time string (a `str` config such as activation_function). Every arm is checked, so
// a mistake in one the configuration does not take still shows, but only the chosen arm's
// nodes stay in the graph. A string no arm names is an error that lists the accepted ones,
// against config.json or --set when the string came from there.

import type { MatchExpr } from './ast.ts';
import type { Elaborator } from './elaborate.ts';
import { evalExpr } from './expressions.ts';
import { describe, POISON, quoteString, type Scope, type Value } from './values.ts';

export function evalMatch(el: Elaborator, e: MatchExpr, scope: Scope): Value {
  const seen = new Map<string, number>();
  for (const arm of e.arms)
    for (const p of arm.patterns) {
      const line = seen.get(p.value);
      if (line !== undefined) el.error(p.loc, `${quoteString(p.value)} is already matched by the arm on line ${line}`);
      else seen.set(p.value, p.loc.line);
    }
  const subject = evalExpr(el, e.subject, scope);
  if (subject.kind === 'poison') return subject;
  if (subject.kind !== 'string') return el.error(e.subject.loc, `match needs a string (such as a 'str' config), got ${describe(subject)}`);
  // A function checked on its own has no real string: check every arm, take the first.
  const placeholder = subject.source?.kind === 'placeholder';
  const chosen = placeholder ? e.arms[0] : e.arms.find((arm) => arm.patterns.some((p) => p.value === subject.value));
  for (const arm of e.arms) {
    if (arm === chosen) continue;
    const mark = el.b.mark();
    evalExpr(el, arm.body, scope);
    el.b.truncate(mark);
  }
  if (chosen) return evalExpr(el, chosen.body, scope);
  const accepted = [...seen.keys()].map((s) => quoteString(s)).join(', ');
  const where = `${e.loc.file}:${e.loc.line}`;
  const src = subject.source;
  // From config.json or --set: the fix is there, not in the spec, so the message names that.
  if (src?.kind === 'override')
    return el.error(undefined, `${src.origin}: ${src.config} ${quoteString(subject.value)} is not supported; the spec accepts ${accepted} (${where})`);
  el.error(e.subject.loc, `${describe(subject)} matches no arm; the arms accept ${accepted}`);
  return POISON;
}
