// A readable text form of a graph, in the spirit of a jaxpr: one node per line,
// `%id: type = op inputs {attrs}  # source name`.

import { type Dim, dimToString } from './dims.ts';
import { isRegion, type AttrValue, type Graph, type Node } from './graph.ts';
import { typeToString } from './types.ts';

function isDimList(v: readonly unknown[]): boolean {
  return v.some((d) => typeof d === 'object');
}

/** Longer number lists (tensor constants' data) print as their first few values and a count. */
const MAX_LIST_SHOWN = 8;

export function formatAttr(v: AttrValue): string {
  if (isRegion(v)) return `region(${v.nodes.length} ops)`;
  if (Array.isArray(v) && isDimList(v)) return `[${(v as Dim[]).map(dimToString).join(', ')}]`;
  if (Array.isArray(v))
    return v.length > MAX_LIST_SHOWN ? `[${v.slice(0, 4).join(', ')}, ... (${v.length} values)]` : `[${v.join(', ')}]`;
  if (typeof v === 'object' && v !== null && 'terms' in v) return dimToString(v as Dim);
  if (typeof v === 'object' && v !== null && 'kind' in v) return 'std' in v ? `${v.kind}(${v.std})` : `${v.kind}()`;
  return String(v);
}

export function formatNode(n: Node): string {
  const attrs = Object.entries(n.attrs)
    .filter(([k]) => !(n.op === 'param' || n.op === 'input') || (k !== 'shape' && k !== 'dtype'))
    .filter(([, v]) => !isRegion(v)) // printed below the node
    .map(([k, v]) => `${k}=${formatAttr(v)}`);
  const args = n.inputs.map((i) => `%${i}`).join(' ');
  const head = `%${n.id}: ${typeToString(n.type)} = ${n.op}${args ? ' ' + args : ''}${attrs.length ? ` {${attrs.join(', ')}}` : ''}`;
  const showHint = n.hint && n.op !== 'param' && n.op !== 'input';
  return showHint ? `${head.padEnd(72)}  # ${n.hint}` : head;
}

/** A node, and a fused node's body under it: `(%a, %b) ->` its args, then one op per line. */
function formatWithBody(n: Node, indent: string): string[] {
  const lines = [indent + formatNode(n)];
  const body = n.attrs.body;
  if (!isRegion(body)) return lines;
  const inner = indent + '    ';
  lines.push(`${inner}(${body.args.map((a) => `%${a.id}`).join(', ')}) ->`);
  for (const b of body.nodes) lines.push(...formatWithBody(b, inner));
  lines.push(`${inner}yield %${body.output}`);
  return lines;
}

export function printGraph(g: Graph): string {
  const lines: string[] = [];
  const config = Object.entries(g.config).map(([k, v]) => `${k}=${v}`).join(', ');
  lines.push(`graph ${g.name}(${g.symbols.join(', ')})`);
  if (config) lines.push(`  # config: ${config}`);
  for (const n of g.nodes) lines.push(...formatWithBody(n, '  '));
  for (const o of g.outputs) lines.push(`  return ${o.name} = %${o.id}`);
  return lines.join('\n') + '\n';
}
