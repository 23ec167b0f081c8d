// The bench's result (what the JSON holds) and its tables: compile time, the plan's costs, the
// runtime medians with their ratios to the peers measured in the same run, and issue 8's
// targets with pass/miss and by how much. Columns appear for what was measured, nothing else.

import type { LevelCompile } from './compile-time.ts';
import { STARTUP_TARGETS, type StartupTimes } from './startup.ts';
import type { MatmulRate } from './matmul.ts';
import type { TrainingRate } from './training.ts';
import type { BytesMoved, DispatchCounts, PlannedMemory } from './plan-stats.ts';
import type { EngineResult } from './runners/protocol.ts';
import type { Sample } from './stats.ts';

export const RUNNERS = ['rhc-node', 'rhc-chromium', 'ort-web-chromium', 'ort-web-node', 'ort-node'] as const;
export type RunnerName = (typeof RUNNERS)[number];
export const RUNNER_TITLES: Record<RunnerName, string> = {
  'rhc-node': 'rhc Node',
  'rhc-chromium': 'rhc Chromium',
  'ort-web-chromium': 'ORT-web Chromium',
  'ort-web-node': 'ORT-web Node',
  'ort-node': 'ORT-node CPU',
};

export interface PlanLevel {
  level: string;
  prefill: { dispatches: DispatchCounts; bytes: BytesMoved };
  /** a decoder's prompt of the same length (last position's logits only, where the plan can) */
  firstToken: { dispatches: DispatchCounts; bytes: BytesMoved };
  decode: { context: number; dispatches: DispatchCounts; bytes: BytesMoved }[];
  memory: PlannedMemory;
}

export interface RunnerRun {
  runner: RunnerName;
  adapter?: string;
  result?: Omit<EngineResult, 'lastLogits'>;
  /** largest |logit difference| of the prefill's last row against rhc in Node */
  maxAbsDiff?: number;
  /** the 1-minute load average when it started (above the CPU count: others were running too) */
  load?: number;
  error?: string;
}

export interface Target {
  name: string;
  measured: string;
  target: string;
  status: 'pass' | 'miss' | 'n/a';
  note: string;
}

export interface BenchResult {
  format: 'rhc-bench';
  version: 1;
  startedAt: string;
  finishedAt: string;
  options: Record<string, unknown>;
  host: Record<string, string | number | boolean>;
  levels: readonly string[];
  defaultLevel: string;
  prefillTokens: number;
  contexts: number[];
  compile?: { model: string; about: string; levels: LevelCompile[] };
  startup?: StartupTimes;
  plans: { model: string; about: string; layers: number; levels: PlanLevel[] }[];
  runs: { model: string; about: string; runners: RunnerRun[] }[];
  matmul?: MatmulRate & { peakGflops?: number; peakName?: string };
  training?: TrainingRate;
  targets: Target[];
}

/** A markdown table with padded columns (readable in a terminal, pastes into a note). */
export function table(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ')} |`;
  return [line(head), `|${width.map((w, i) => (i === 0 ? ':' : '-').padEnd(w + 1, '-') + (i === 0 ? '-' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}

const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mib = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const ratio = (a?: number, b?: number) => (a === undefined || b === undefined || !(b > 0) ? '-' : `${(a / b).toFixed(2)}`);
const sampleText = (s?: Sample) => (s ? `${ms(s.median)}${s.ms.length < 3 ? ` (n=${s.ms.length})` : ''}` : '-');

function compileTable(r: NonNullable<BenchResult['compile']>): string {
  const head = ['phase (ms, median)', ...r.levels.flatMap((l) => [l.level, `${l.level} first run`])];
  // Every level's phases, the fullest level's order first: a pass only one level runs (fuse at -O2) gets a row too.
  const fullest = [...r.levels].sort((a, b) => b.phases.length - a.phases.length);
  const names = [...new Set(fullest.flatMap((l) => l.phases.map((p) => p.phase)))];
  const rows = names.map((n) => [n, ...r.levels.flatMap((l) => {
    const p = l.phases.find((x) => x.phase === n);
    return [ms(p?.ms.median), ms(p?.ms.firstMs)];
  })]);
  rows.push(['parse -> WGSL, one block', ...r.levels.flatMap((l) => [ms(l.endToEnd.median), ms(l.endToEnd.firstMs)])]);
  rows.push(['dispatches in the plan', ...r.levels.flatMap((l) => [String(l.dispatches), ''])]);
  return `Compile, ${r.about}, in process after warm-up:\n\n${table(head, rows)}`;
}

function startupTable(s: StartupTimes): string {
  const node = s.commands.find((c) => c.id === 'node')?.ms.median;
  const rows = s.commands.map((c) => {
    const target = STARTUP_TARGETS[c.id];
    return [c.command, sampleText(c.ms), ms(c.ms.firstMs), c.id === 'node' ? '' : ratio(c.ms.median, node), target === undefined ? '' : ms(target * 1000)];
  });
  const n = s.commands[0]?.ms.ms.length ?? 0;
  const notes = [`rhc is ${s.entry.label}${s.entry.note ? ` (${s.entry.note})` : ''}`, `load average ${s.load[0].toFixed(1)} before, ${s.load[1].toFixed(1)} after`];
  return `Start-up, child processes, wall clock (median of ${n}; ${s.spec} at its defaults, GPT-2 medium's dims):\n\n${table(['command', 'ms', 'first run', '/ node -e 0', 'target ms'], rows)}\n\n${notes.join('\n')}`;
}

function perLayer(c: DispatchCounts): string {
  if (c.perLayer.length === 0) return '-';
  const max = Math.max(...c.perLayer);
  const min = Math.min(...c.perLayer);
  return min === max ? String(max) : `${min}-${max}`;
}

function planTable(plans: BenchResult['plans'], prefill: number): string {
  const cols = plans.flatMap((p) => p.levels.map((l) => ({ p, l })));
  const head = ['plan', ...cols.map(({ p, l }) => `${p.model} ${l.level}`)];
  const row = (name: string, f: (l: PlanLevel, layers: number) => string) => [name, ...cols.map(({ p, l }) => f(l, p.layers))];
  const contexts = cols[0]?.l.decode.map((d) => d.context) ?? [];
  const rows = [
    row(`dispatches / forward (prefill ${prefill})`, (l) => String(l.prefill.dispatches.total)),
    row('  per layer (min-max)', (l) => perLayer(l.prefill.dispatches)),
    row('  outside layers', (l) => String(l.prefill.dispatches.outside)),
    row('dispatches / decode step', (l) => String(l.decode[0]?.dispatches.total ?? '-')),
    row('  per layer (min-max)', (l) => (l.decode[0] ? perLayer(l.decode[0].dispatches) : '-')),
    row(`bytes moved, prefill ${prefill}`, (l) => mib(l.prefill.bytes.total)),
    row(`bytes moved, first token (${prefill}-token prompt)`, (l) => mib(l.firstToken.bytes.total)),
    ...contexts.map((c, i) => row(`bytes moved, decode @${c}`, (l) => mib(l.decode[i].bytes.total))),
    row('  of which weights read (decode)', (l) => mib(l.decode[0]?.bytes.read.weights ?? 0)),
    row('memory: weights', (l) => mib(l.memory.weights)),
    row('memory: tables', (l) => mib(l.memory.tables)),
    row('memory: activations (+io)', (l) => mib(l.memory.activations)),
    row('memory: uniforms', (l) => mib(l.memory.uniforms)),
    row('memory: KV cache (1 decoder)', (l) => mib(l.memory.kvCache)),
    row('memory: peak (forward + decoder)', (l) => mib(l.memory.decoding)),
  ];
  const unresolved = cols.reduce((n, { l }) => n + [l.prefill, l.firstToken, ...l.decode].reduce((m, d) => m + d.bytes.unresolved, 0), 0);
  return `Plans (counted from plan.json; bench/README.md says how):\n\n${table(head, rows)}${unresolved ? `\n\n${unresolved} bindings of unknown size were counted at their buffer's allocation` : ''}`;
}

function runTable(run: BenchResult['runs'][number], prefill: number, cpus: number): string {
  const present = run.runners.filter((r) => r.result);
  const get = (name: RunnerName) => run.runners.find((r) => r.runner === name)?.result;
  const measures: { name: string; pick: (r: Omit<EngineResult, 'lastLogits'>) => Sample | undefined }[] = [
    { name: `prefill ${prefill} (all logits)`, pick: (r) => r.prefill },
    { name: `first token, ${prefill}-token prompt`, pick: (r) => r.firstToken },
    ...(present[0]?.result?.decode ?? []).map((d, i) => ({ name: `decode step @${d.context}`, pick: (r: Omit<EngineResult, 'lastLogits'>) => r.decode[i]?.sample })),
  ];
  const pairs: [RunnerName, RunnerName][] = [['rhc-node', 'ort-web-node'], ['rhc-chromium', 'ort-web-chromium'], ['rhc-node', 'ort-web-chromium'], ['rhc-node', 'ort-node']];
  const shown = pairs.filter(([a, b]) => get(a) && get(b) && !(a === 'rhc-node' && b === 'ort-web-chromium' && get('ort-web-node')));
  const head = ['ms (median)', ...present.map((r) => RUNNER_TITLES[r.runner]), ...shown.map(([a, b]) => `${RUNNER_TITLES[a]} / ${RUNNER_TITLES[b]}`)];
  const rows = measures.map((m) => [m.name, ...present.map((r) => sampleText(m.pick(r.result!))), ...shown.map(([a, b]) => ratio(m.pick(get(a)!)?.median, m.pick(get(b)!)?.median))]);
  const notes = run.runners.map((r) => (r.error ? `${RUNNER_TITLES[r.runner]}: not measured: ${r.error}` : r.maxAbsDiff !== undefined ? `${RUNNER_TITLES[r.runner]}: last-position logits within ${r.maxAbsDiff.toExponential(1)} of rhc Node` : ''));
  const loads = run.runners.filter((r) => r.load !== undefined).map((r) => `${RUNNER_TITLES[r.runner]} ${r.load!.toFixed(1)}`);
  if (loads.length) notes.push(`load average at each start (${cpus} CPUs; more means other work shared them): ${loads.join(', ')}`);
  return `Runtime, ${run.about} (ratios < 1: rhc is faster):\n\n${table(head, rows)}${notes.filter(Boolean).length ? `\n\n${notes.filter(Boolean).join('\n')}` : ''}`;
}

export function renderReport(r: BenchResult): string {
  const parts = [`rhc bench, ${r.startedAt}\n${Object.entries(r.host).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`];
  parts.push(`Optimisation levels: ${r.levels.join(', ')} (${r.defaultLevel} is what rhc compile uses${r.levels.length === 1 ? '; the compiler has no other level yet' : ''})`);
  if (r.startup) parts.push(startupTable(r.startup));
  if (r.compile) parts.push(compileTable(r.compile));
  if (r.plans.length) parts.push(planTable(r.plans, r.prefillTokens));
  for (const run of r.runs) parts.push(runTable(run, r.prefillTokens, Number(r.host.cpus) || 0));
  if (r.matmul) {
    const m = r.matmul;
    const peak = m.peakGflops ? `, ${((100 * m.gflops) / m.peakGflops).toFixed(1)}% of ${m.peakName ?? 'the given'} f32 peak (${m.peakGflops} GFLOP/s)` : ' (f32 peak of this adapter unknown: --peak-gflops N)';
    parts.push(`Matmul f32 [${m.n}, ${m.n}] @ [${m.n}, ${m.n}]: ${ms(m.ms)} ms, ${m.gflops.toFixed(1)} GFLOP/s${peak}`);
  }
  if (r.training) {
    const t = r.training;
    parts.push(`Training, ${t.model}, batch ${t.batch} x ${t.seq} tokens (rhc Node):\n\n${table(['run (ms, median)', 'ms'], [
      ['forward (loss) of the batch', sampleText(t.forward)],
      ['training step (forward, backward, AdamW)', sampleText(t.step)],
      ['step / forward', ratio(t.step.median, t.forward.median)],
      ['tokens/s trained', t.tokensPerS.toFixed(0)],
    ])}`);
  }
  parts.push(`Targets (issues 8, 9 and 10):\n\n${table(['target', 'measured', 'wanted', 'result'], r.targets.map((t) => [t.name, t.measured, t.target, t.status === 'n/a' ? `n/a: ${t.note}` : `${t.status}${t.note ? `: ${t.note}` : ''}`]))}`);
  return parts.join('\n\n') + '\n';
}
