// Each layer's per-head rotation frequencies f[h, i] as a model uses them, read off its own
// graph. `rhc plot --frequencies` (src/train/plot.ts) and the browser demo
// (examples/browser) both draw them, so this lives apart from either: no Node APIs, the same
// file runs in a page with weights from a fetched checkpoint.

import { RhcError } from '../errors.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { broadcastIndex, broadcastShapes, type RefTensor } from '../ir/reference.ts';
import { evaluateNodes } from '../passes/evaluate.ts';

export interface FrequencyValue { layer: number; head: number; index: number; frequency: number }

/**
 * Every variant rotates by `rope(x, cos(a), sin(a))` with the angle a = pos * f (gpt2.rh's
 * rotate_heads), so f is the operand of a's multiplication that does not depend on the inputs.
 * Its nodes (parameters, constants and what the spec computes from them: LR's tensor, GP's
 * progression, the -norm variants' LayerNorm) are evaluated by the reference semantics (in f64)
 * with the checkpoint's tensors from `weight`. Any spec of that form works, not only the seed's;
 * SEMANTICS.md's formulas are checked against this in test/cli/plot.test.ts.
 * `what` names the model in messages (its spec file's name).
 */
export function rotationFrequencies(graph: Graph, weight: (name: string) => Float32Array | undefined, what: string): FrequencyValue[] {
  const cfg = graph.config;
  const H = cfg.n_head as number;
  const half = (cfg.n_embd as number) / H / 2;
  const layers = cfg.n_layer as number;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const fromInput = new Map<number, boolean>();
  for (const n of graph.nodes) fromInput.set(n.id, n.op === 'input' || n.inputs.some((x) => fromInput.get(x)));

  const ropes = graph.nodes.filter((n) => n.op === 'rope');
  if (ropes.length === 0) throw new RhcError(`${what}: plain GPT-2 (no rope in its graph) rotates nothing, so it has no rotation frequencies to plot`);
  if (ropes.length % layers !== 0) throw new RhcError(`${what}: ${ropes.length} rotations for ${layers} layers; rhc plot --frequencies expects the same number in every layer`);
  const perLayer = ropes.length / layers;

  const frequencyNode = (rope: Node): Node => {
    const cos = byId.get(rope.inputs[1])!;
    const angle = cos.op === 'cos' ? byId.get(cos.inputs[0])! : undefined;
    const operands = angle?.op === 'mul' ? angle.inputs.map((x) => byId.get(x)!) : [];
    const constant = operands.filter((x) => !fromInput.get(x.id));
    if (operands.length !== 2 || constant.length !== 1) {
      throw new RhcError(`${what}: rhc plot --frequencies reads rotations of the form rope(x, cos(pos * f), sin(pos * f)); %${rope.id}'s angle is not pos * f`);
    }
    return constant[0];
  };

  /** f's value: the nodes it depends on, in graph order, parameters taken from the weights. */
  const evaluate = (f: Node): RefTensor => {
    const needed = new Set<number>();
    const stack = [f.id];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (needed.has(id)) continue;
      needed.add(id);
      stack.push(...byId.get(id)!.inputs);
    }
    const known = new Map<number, RefTensor>();
    const nodes: Node[] = [];
    for (const n of graph.nodes) {
      if (!needed.has(n.id)) continue;
      if (n.op === 'param') {
        const name = n.attrs.name as string;
        const data = weight(name);
        if (!data) throw new RhcError(`${what}: the checkpoint has no tensor '${name}', which the rotation frequencies read`);
        known.set(n.id, { dtype: 'f32', shape: n.type.shape as number[], data });
      } else nodes.push(n);
    }
    return evaluateNodes(nodes, known).get(f.id)!;
  };

  const out: FrequencyValue[] = [];
  for (let layer = 0; layer < layers; layer++) {
    const f = evaluate(frequencyNode(ropes[layer * perLayer])); // q's rotation (k's is the same)
    const shape = broadcastShapes(f.shape, [H, half]);
    if (!shape || shape.length !== 2 || shape[0] !== H || shape[1] !== half) {
      throw new RhcError(`${what}: layer ${layer}'s frequencies have shape [${f.shape.join(', ')}], which does not broadcast to [n_head, D/2] = [${H}, ${half}]`);
    }
    const index = broadcastIndex(f.shape, [H, half]);
    for (let head = 0; head < H; head++) for (let i = 0; i < half; i++) out.push({ layer, head, index: i, frequency: Number(f.data[index[head * half + i]]) });
  }
  return out;
}
