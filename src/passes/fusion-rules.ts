// The fusion rules, as data: each names the node a region grows from (its anchor), the nodes it
// may take in, and how many values it may hand out. src/passes/fuse.ts applies them, in this
// order, to every anchor not yet in a region; a backend picks its kernel for a region by the
// rule's name (and renders a region it has no kernel for op by op, so a new rule is correct
// everywhere from the start and fast where a backend learns it).
//
// A new fusion is a new entry here and a test in test/passes/fuse.test.ts.

import type { AttrValue } from '../ir/graph.ts';
import type { OpCategory, OpName } from '../ir/registry.ts';

/** What a node must be to match: every field given must hold. */
export interface NodePattern {
  op?: readonly OpName[];
  category?: readonly OpCategory[];
  /** the node's shape (and dtype) equals the anchor's, so it is read at the anchor's index */
  anchorShape?: boolean;
  /** attribute values, compared as JSON (a transpose's perm, a slice's axis) */
  attrs?: Readonly<Record<string, AttrValue>>;
}

export interface FusionRule {
  readonly name: string;
  readonly summary: string;
  /** the lowest -O level that applies it */
  readonly level: 1 | 2;
  readonly anchor: NodePattern;
  /** the anchor's operand `input` joins the region, before it, when it matches and the anchor is its only reader */
  readonly prologue?: { readonly input: number; readonly pattern: NodePattern };
  /** nodes the region may take in, growing through the users of its nodes in graph order */
  readonly absorb: readonly NodePattern[];
  /**
   * values the region may hand out: 1, or several of one type, which the fused node returns
   * stacked on a new leading axis (the graph reads each back with a slice: a view)
   */
  readonly maxRoots: number;
  /** the region is kept only when it took in at least `count` nodes matching each pattern */
  readonly requires: readonly { readonly pattern: NodePattern; readonly count: number }[];
}

const ELEMENTWISE_AT_ANCHOR: NodePattern = { category: ['elementwise'], anchorShape: true };
const LAST_AXIS_SLICE: NodePattern = { op: ['slice'], attrs: { axis: -1 } };
const HEADS_FIRST: NodePattern = { op: ['transpose'], attrs: { perm: [0, 2, 1, 3] } };
/** LayerNorm of a matmul's A, applied to each row as the kernel reads it: ln_1, ln_2, ln_f */
const NORMALISED_A = { input: 0, pattern: { op: ['layer_norm'] } } as const satisfies FusionRule['prologue'];

export const FUSION_RULES = [
  {
    name: 'qkv-heads',
    summary: 'the q/k/v projection (with the LayerNorm before it) and its bias, split into heads, q and k rotated (rope), written head-major [3, B, H, S, D]',
    level: 2,
    anchor: { op: ['matmul'] },
    prologue: NORMALISED_A,
    absorb: [ELEMENTWISE_AT_ANCHOR, LAST_AXIS_SLICE, { op: ['reshape'] }, { op: ['rope'] }, HEADS_FIRST],
    maxRoots: 3,
    requires: [{ pattern: LAST_AXIS_SLICE, count: 3 }, { pattern: HEADS_FIRST, count: 3 }],
  },
  {
    name: 'norm-matmul',
    summary: 'a LayerNorm read by one matmul only, applied to A\'s rows in the matmul\'s loads, and the elementwise ops after it (ln_2 + c_fc + GELU, ln_f + lm_head)',
    level: 2,
    anchor: { op: ['matmul'] },
    prologue: NORMALISED_A,
    absorb: [ELEMENTWISE_AT_ANCHOR],
    maxRoots: 1,
    requires: [{ pattern: NORMALISED_A.pattern, count: 1 }],
  },
  {
    name: 'matmul-epilogue',
    summary: 'a matmul and the elementwise ops after it (bias, residual add, GELU), in the matmul\'s store',
    level: 1,
    anchor: { op: ['matmul'] },
    absorb: [ELEMENTWISE_AT_ANCHOR],
    maxRoots: 1,
    requires: [{ pattern: ELEMENTWISE_AT_ANCHOR, count: 1 }],
  },
] as const satisfies readonly FusionRule[];

export type FusionRuleName = (typeof FUSION_RULES)[number]['name'];

export function isFusionRuleName(name: string): name is FusionRuleName {
  return FUSION_RULES.some((r) => r.name === name);
}
