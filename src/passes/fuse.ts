// The fusion pass: turns the regions the rules of fusion-rules.ts match into `fused` nodes.
// For each rule in turn and each anchor not yet in a region, the region grows in graph order
// through the users of its nodes that match one of the rule's patterns, as long as a node's
// other inputs do not depend on the region (that would make the region read its own result).
// The largest prefix of the growth that hands out at most `maxRoots` values (of one type when
// several) and takes in what the rule requires is kept. The graph is then rebuilt with each
// region as one node, in an order where every node follows what it reads.

import { nodeMap, type Graph, type Node, type Region } from '../ir/graph.ts';
import { getOp } from '../ir/registry.ts';
import { shapeEq } from '../ir/dims.ts';
import { tensorType } from '../ir/types.ts';
import { FUSION_RULES, type FusionRule, type NodePattern } from './fusion-rules.ts';
import { Rewriter, usersOf } from './rewrite.ts';

export type OptLevel = 0 | 1 | 2;
export const OPT_LEVELS: readonly OptLevel[] = [0, 1, 2];
export const DEFAULT_OPT_LEVEL: OptLevel = 2;

interface Found {
  rule: FusionRule;
  /** in graph order */
  nodes: Node[];
  /** the values read outside the region, in graph order */
  roots: number[];
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function matches(p: NodePattern, n: Node, anchor: Node): boolean {
  if (p.op && !(p.op as readonly string[]).includes(n.op)) return false;
  if (p.category && !p.category.includes(getOp(n.op).category)) return false;
  if (p.anchorShape && !(n.type.dtype === anchor.type.dtype && shapeEq(n.type.shape, anchor.type.shape))) return false;
  if (p.attrs && !Object.entries(p.attrs).every(([k, v]) => sameJson(n.attrs[k], v))) return false;
  return true;
}

class RegionFinder {
  private readonly users: Map<number, Node[]>;
  private readonly order: Map<number, number>;
  private readonly byId: Map<number, Node>;
  private readonly outputs: Set<number>;
  readonly taken = new Set<number>();

  constructor(private readonly g: Graph) {
    this.users = usersOf(g);
    this.order = new Map(g.nodes.map((n, i) => [n.id, i]));
    this.byId = nodeMap(g);
    this.outputs = new Set(g.outputs.map((o) => o.id));
  }

  /** Does `id` depend on a node of `region`? (Nodes before the anchor cannot.) */
  private reaches(id: number, region: ReadonlySet<number>, start: number): boolean {
    const stack = [id];
    const seen = new Set<number>();
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (region.has(x)) return true;
      if (seen.has(x) || this.order.get(x)! < start) continue;
      seen.add(x);
      stack.push(...this.byId.get(x)!.inputs);
    }
    return false;
  }

  private rootsOf(region: ReadonlySet<number>): number[] {
    return [...region].filter((x) => this.outputs.has(x) || (this.users.get(x) ?? []).some((u) => !region.has(u.id)));
  }

  private valid(rule: FusionRule, anchor: Node, nodes: readonly Node[], roots: readonly number[]): boolean {
    if (roots.length === 0 || roots.length > rule.maxRoots) return false;
    const first = this.byId.get(roots[0])!.type;
    if (!roots.every((r) => { const t = this.byId.get(r)!.type; return t.dtype === first.dtype && shapeEq(t.shape, first.shape); })) return false;
    if (nodes.length === 1) return false;
    return rule.requires.every(({ pattern, count }) => nodes.filter((n) => n !== anchor && matches(pattern, n, anchor)).length >= count);
  }

  grow(rule: FusionRule, anchor: Node): Found | undefined {
    if (this.taken.has(anchor.id) || !matches(rule.anchor, anchor, anchor)) return undefined;
    const start = this.order.get(anchor.id)!;
    const region = new Set([anchor.id]);
    const nodes = [anchor];
    const pro = rule.prologue && this.byId.get(anchor.inputs[rule.prologue.input]);
    if (pro && !this.taken.has(pro.id) && matches(rule.prologue!.pattern, pro, anchor) && !this.outputs.has(pro.id) && (this.users.get(pro.id) ?? []).length === 1) {
      // only the anchor reads it, so nothing outside can depend on it: no cycle to check
      region.add(pro.id);
      nodes.unshift(pro);
    }
    const joins = (u: Node) => !this.taken.has(u.id) && rule.absorb.some((p) => matches(p, u, anchor));
    const first = this.rootsOf(region); // a prologue alone may already make a region (ln_f + lm_head)
    let best: Found | undefined = this.valid(rule, anchor, nodes, first) ? { rule, nodes: [...nodes], roots: first } : undefined;
    // The region's readers not yet visited: when none is left, nothing later can join.
    const pending = new Set<number>();
    const awaitReaders = (x: Node) => (this.users.get(x.id) ?? []).forEach((v) => this.order.get(v.id)! > start && pending.add(v.id));
    nodes.forEach(awaitReaders);
    for (let i = start + 1; i < this.g.nodes.length && pending.size > 0; i++) {
      const u = this.g.nodes[i];
      if (!pending.delete(u.id)) continue;
      if (!joins(u) || u.inputs.some((i) => !region.has(i) && this.reaches(i, region, start))) {
        // u stays outside: what it reads is a root for good; past maxRoots no prefix can be valid
        if (this.rootsOf(region).filter((x) => (this.users.get(x) ?? []).some((v) => !region.has(v.id) && !joins(v))).length > rule.maxRoots) break;
        continue;
      }
      region.add(u.id);
      nodes.push(u);
      awaitReaders(u);
      const roots = this.rootsOf(region);
      if (this.valid(rule, anchor, nodes, roots)) best = { rule, nodes: [...nodes], roots };
    }
    if (best) for (const n of best.nodes) this.taken.add(n.id);
    return best;
  }
}

/** The regions of `g` at `level`, rule by rule. */
export function findRegions(g: Graph, level: OptLevel): Found[] {
  const finder = new RegionFinder(g);
  const found: Found[] = [];
  for (const rule of FUSION_RULES) {
    if (rule.level > level) continue;
    for (const n of g.nodes) {
      const r = finder.grow(rule, n);
      if (r) found.push(r);
    }
  }
  return found;
}

/** The body of a region: its nodes, its outside inputs as args, its roots (stacked when several). */
function regionBody(r: Found, typeOf: (id: number) => Node['type'], nextId: () => number): { body: Region; args: number[] } {
  const inside = new Set(r.nodes.map((n) => n.id));
  const args: number[] = [];
  for (const n of r.nodes) for (const i of n.inputs) if (!inside.has(i) && !args.includes(i)) args.push(i);
  const nodes: Node[] = [...r.nodes];
  let output = r.roots[0];
  if (r.roots.length > 1) {
    const t = typeOf(r.roots[0]);
    const lifted = r.roots.map((root) => {
      const shape = [1, ...t.shape];
      const id = nextId();
      nodes.push({ id, op: 'reshape', inputs: [root], attrs: { shape }, type: tensorType(t.dtype, shape) });
      return id;
    });
    output = nextId();
    nodes.push({ id: output, op: 'concat', inputs: lifted, attrs: { axis: 0 }, type: tensorType(t.dtype, [r.roots.length, ...t.shape]) });
  }
  return { body: { args: args.map((id) => ({ id, type: typeOf(id) })), nodes, output }, args };
}

export function fuse(g: Graph, level: OptLevel = DEFAULT_OPT_LEVEL): Graph {
  const regions = findRegions(g, level);
  if (regions.length === 0) return g;
  const regionOf = new Map<number, number>();
  regions.forEach((r, i) => r.nodes.forEach((n) => regionOf.set(n.id, i)));
  const byId = nodeMap(g);
  const rw = new Rewriter(g);
  const emitted = new Set<string>();
  const visiting = new Set<string>();

  // Depth-first: an item (a node, or a whole region) after everything it reads.
  const emit = (key: string): void => {
    if (emitted.has(key)) return;
    if (visiting.has(key)) throw new Error(`internal: fusion made a cycle through ${key}`);
    visiting.add(key);
    const isRegion = key.startsWith('r');
    const reads = isRegion ? regions[Number(key.slice(1))].nodes.flatMap((n) => n.inputs) : byId.get(Number(key.slice(1)))!.inputs;
    for (const i of reads) {
      const r = regionOf.get(i);
      if (r !== undefined) {
        if (!isRegion || r !== Number(key.slice(1))) emit(`r${r}`);
      } else emit(`n${i}`);
    }
    visiting.delete(key);
    emitted.add(key);
    if (!isRegion) {
      rw.keep(byId.get(Number(key.slice(1)))!);
      return;
    }
    const r = regions[Number(key.slice(1))];
    const { body, args } = regionBody(r, (id) => byId.get(id)!.type, () => rw.freshId());
    const fused = rw.add('fused', args, { rule: r.rule.name, body }, byId.get(r.roots[r.roots.length - 1])!.hint);
    if (r.roots.length === 1) rw.replace(r.roots[0], fused);
    else
      r.roots.forEach((root, i) => {
        const part = rw.add('slice', [fused], { axis: 0, start: i, end: i + 1 });
        rw.replace(root, rw.add('reshape', [part], { shape: byId.get(root)!.type.shape }, byId.get(root)!.hint));
      });
  };
  for (const n of g.nodes) emit(regionOf.has(n.id) ? `r${regionOf.get(n.id)}` : `n${n.id}`);
  return rw.finish();
}
