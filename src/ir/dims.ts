// Dimensions: a compile-time integer or a polynomial over symbolic dims (B, S, P+S, B*S).
// Config values are concrete by the time a model is lowered, so only run-time sizes stay
// symbolic. Polynomials are kept canonical so equality is structural.

/** A monomial key: the sorted symbol names joined by '*', '' for the constant term. */
type Monomial = string;

export interface SymDim {
  /** monomial -> non-zero integer coefficient */
  readonly terms: ReadonlyMap<Monomial, number>;
}

export type Dim = number | SymDim;

export function sym(name: string): SymDim {
  return { terms: new Map([[name, 1]]) };
}

function fromTerms(terms: Map<Monomial, number>): Dim {
  for (const [k, v] of terms) if (v === 0) terms.delete(k);
  if (terms.size === 0) return 0;
  if (terms.size === 1 && terms.has('')) return terms.get('')!;
  return { terms };
}

function termsOf(d: Dim): Map<Monomial, number> {
  return typeof d === 'number' ? new Map(d === 0 ? [] : [['', d]]) : new Map(d.terms);
}

export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const t = termsOf(a);
  for (const [k, v] of termsOf(b)) t.set(k, (t.get(k) ?? 0) + v);
  return fromTerms(t);
}

export function dimNeg(a: Dim): Dim {
  return dimMul(a, -1);
}

export function dimSub(a: Dim, b: Dim): Dim {
  return dimAdd(a, dimNeg(b));
}

function mulMonomials(a: Monomial, b: Monomial): Monomial {
  if (a === '') return b;
  if (b === '') return a;
  return [...a.split('*'), ...b.split('*')].sort().join('*');
}

/** `a` times a constant: the same monomials, each coefficient scaled. */
function scale(a: SymDim, c: number): Dim {
  if (c === 0) return 0;
  if (c === 1) return a;
  const t = new Map<Monomial, number>();
  for (const [k, v] of a.terms) t.set(k, v * c);
  return fromTerms(t);
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  // One side constant (numElements of [B, S, 1024], a stride): no monomials to multiply out.
  if (typeof b === 'number') return scale(a as SymDim, b);
  if (typeof a === 'number') return scale(b, a);
  const t = new Map<Monomial, number>();
  for (const [ka, va] of termsOf(a))
    for (const [kb, vb] of termsOf(b)) {
      const k = mulMonomials(ka, kb);
      t.set(k, (t.get(k) ?? 0) + va * vb);
    }
  return fromTerms(t);
}

/** Exact division by a constant; undefined when some coefficient is not divisible. */
export function dimDivExact(a: Dim, b: number): Dim | undefined {
  if (b === 0) return undefined;
  if (typeof a === 'number') return a % b === 0 ? a / b : undefined;
  const t = new Map<Monomial, number>();
  for (const [k, v] of a.terms) {
    if (v % b !== 0) return undefined;
    t.set(k, v / b);
  }
  return fromTerms(t);
}

export function dimEq(a: Dim, b: Dim): boolean {
  return dimToString(a) === dimToString(b);
}

/** Whether every number in `d` (the constant, each coefficient) is an integer. */
export function dimIsInteger(d: Dim): boolean {
  if (typeof d === 'number') return Number.isInteger(d);
  for (const c of d.terms.values()) if (!Number.isInteger(c)) return false;
  return true;
}

/** Whether every number in `d` (the constant, each coefficient) is an exactly representable integer (|n| <= 2^53 - 1). */
export function dimIsSafe(d: Dim): boolean {
  if (typeof d === 'number') return Number.isSafeInteger(d);
  for (const c of d.terms.values()) if (!Number.isSafeInteger(c)) return false;
  return true;
}

export function isConcrete(d: Dim): d is number {
  return typeof d === 'number';
}

export function dimSymbols(d: Dim): string[] {
  if (typeof d === 'number') return [];
  const names = new Set<string>();
  for (const k of d.terms.keys()) for (const n of k.split('*')) if (n) names.add(n);
  return [...names];
}

/** Canonical text: terms in descending degree then name order, e.g. `B*S + P + 3`. */
export function dimToString(d: Dim): string {
  if (typeof d === 'number') return String(d);
  const keys = [...d.terms.keys()].sort((x, y) => {
    const dx = x ? x.split('*').length : 0;
    const dy = y ? y.split('*').length : 0;
    return dy - dx || (x < y ? -1 : x > y ? 1 : 0);
  });
  let out = '';
  for (const k of keys) {
    const c = d.terms.get(k)!;
    const mag = Math.abs(c);
    const body = k === '' ? String(mag) : mag === 1 ? k : `${mag}*${k}`;
    out += out === '' ? (c < 0 ? `-${body}` : body) : c < 0 ? ` - ${body}` : ` + ${body}`;
  }
  return out;
}

/** Evaluate with every symbol bound; throws when a symbol is unbound. */
export function dimEval(d: Dim, bindings: ReadonlyMap<string, number>): number {
  if (typeof d === 'number') return d;
  let total = 0;
  for (const [k, c] of d.terms) {
    let v = c;
    for (const n of k ? k.split('*') : []) {
      const b = bindings.get(n);
      if (b === undefined) throw new Error(`symbolic dimension '${n}' is not bound`);
      v *= b;
    }
    total += v;
  }
  return total;
}

export function shapeToString(shape: readonly Dim[]): string {
  return `[${shape.map(dimToString).join(', ')}]`;
}

export function shapeEq(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEq(d, b[i]));
}

export function numElements(shape: readonly Dim[]): Dim {
  return shape.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

/** JSON form of a dim: a number, or the canonical string (parsed back by `parseDim`). */
export function dimToJson(d: Dim): number | string {
  return typeof d === 'number' ? d : dimToString(d);
}

/** Parses what `dimToString` prints: sums of `c*A*B` terms. */
export function parseDim(text: string): Dim {
  let total: Dim = 0;
  const normalised = text.replace(/\s+/g, '').replace(/-/g, '+-');
  for (const part of normalised.split('+')) {
    if (part === '') continue;
    let term: Dim = 1;
    let factors = part;
    if (factors.startsWith('-')) {
      term = -1;
      factors = factors.slice(1);
    }
    for (const f of factors.split('*')) {
      if (/^\d+$/.test(f)) term = dimMul(term, Number(f));
      else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(f)) term = dimMul(term, sym(f));
      else throw new Error(`malformed dimension '${text}'`);
    }
    total = dimAdd(total, term);
  }
  return total;
}
