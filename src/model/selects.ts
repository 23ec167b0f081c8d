// Which spec a checkpoint's config.json is for, compared with the spec at hand. Shared by the
// CLI (loading a checkpoint with --spec, compile --weights) and by the browser-safe artifact
// loader, so a gp checkpoint can't run as lr, nor a rope checkpoint as plain GPT-2 (their
// tensors have the same names and shapes, so nothing later would notice). No Node imports.

/** The config.json keys that select a spec: rotatinghead and use_norm, or rhc_spec. */
export type SpecSelectors = Readonly<Record<string, unknown>>;

export interface SelectorMismatch {
  key: 'rhc_spec' | 'rotatinghead' | 'use_norm';
  /** what the checkpoint says (as JSON text, `absent` when missing) */
  have: string;
  /** what the spec needs */
  want: string;
}

/** `gp-published.rh`, `examples/gp-published.rh` and `gp-published` all name the same spec. */
function namedSpec(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v.replace(/^.*[\\/]/, '').replace(/\.rh$/, '') : undefined;
}

const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));

/** The first key on which `raw` (a checkpoint's config.json) and `want` (a spec's selectors) disagree. */
export function selectorMismatch(raw: SpecSelectors, want: SpecSelectors): SelectorMismatch | undefined {
  const [have, need] = [namedSpec(raw.rhc_spec), namedSpec(want.rhc_spec)];
  if (have !== need) return { key: 'rhc_spec', have: show(have), want: show(need) };
  if (need !== undefined) return undefined; // the same named spec
  const head = raw.rotatinghead ?? null;
  const wantHead = want.rotatinghead ?? null;
  if (head !== wantHead) return { key: 'rotatinghead', have: show(head), want: show(wantHead) };
  const norm = raw.use_norm === true;
  if (head !== null && norm !== (want.use_norm === true)) return { key: 'use_norm', have: show(norm), want: show(want.use_norm === true) };
  return undefined;
}
