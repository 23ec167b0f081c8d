// Issue 8's, 9's and 10's targets, judged from one run's results: each is pass or miss with the factor it is
// off by, or n/a with the reason it could not be measured in this run.

import type { BenchResult, RunnerName, Target } from './report.ts';
import { STARTUP_TARGETS, type StartupId } from './startup.ts';

type Partial = Omit<BenchResult, 'targets'>;

/** At least `want` (bigger is better). */
function atLeast(name: string, value: number | undefined, want: number, unit: string, what: string, missing: string): Target {
  if (value === undefined || !Number.isFinite(value)) return { name, measured: '-', target: `>= ${want}${unit}`, status: 'n/a', note: missing };
  const ok = value >= want;
  return { name, measured: `${value.toFixed(2)}${unit}`, target: `>= ${want}${unit}`, status: ok ? 'pass' : 'miss', note: ok ? `${(value / want).toFixed(2)}x the target` : `${(want / value).toFixed(2)}x short (${what})` };
}

/** At most `want` (smaller is better). */
function atMost(name: string, value: number | undefined, want: number, unit: string, missing: string, digits = 2): Target {
  if (value === undefined || !Number.isFinite(value)) return { name, measured: '-', target: `<= ${want}${unit}`, status: 'n/a', note: missing };
  const ok = value <= want;
  return { name, measured: `${value.toFixed(digits)}${unit}`, target: `<= ${want}${unit}`, status: ok ? 'pass' : 'miss', note: ok ? '' : `${(value / want).toFixed(2)}x over` };
}

function runner(r: Partial, model: string, name: RunnerName) {
  return r.runs.find((x) => x.model === model)?.runners.find((x) => x.runner === name)?.result;
}

export function isRealGpu(adapter: string): boolean {
  return !/swiftshader|llvmpipe|lavapipe|software|fallback/i.test(adapter);
}

/** Issue 10's start-up targets; measured through tsx (no dist/) they say so, as that is not what ships. */
function startupTargets(r: Partial): Target[] {
  const s = r.startup;
  const tsx = s?.entry.kind === 'tsx' ? ' (through tsx: dist/ missing)' : '';
  return (Object.entries(STARTUP_TARGETS) as [StartupId, number][]).map(([id, seconds]) => {
    const c = s?.commands.find((x) => x.id === id);
    const t = atMost(`start-up: ${c?.command ?? `rhc ${id}`}${tsx}`, c ? c.ms.median / 1000 : undefined, seconds, ' s', 'the startup section did not run', 3);
    return tsx && t.status !== 'n/a' ? { ...t, note: `${t.note ? `${t.note}; ` : ''}not the compiled CLI: npm run build, then rerun` } : t;
  });
}

/** Why -O2's bytes were not compared with -O0's: no plan was counted, or the levels compared lack one. */
function noLevelPair(r: Partial, counted: boolean): string {
  if (!counted) return 'no plan was counted (the plans section did not run)';
  return `the plans counted ${r.levels.length === 1 ? `one level, ${r.levels[0]}` : `levels ${r.levels.join(', ')}`}, not -O0 and -O2`;
}

export function judgeTargets(r: Partial): Target[] {
  const out: Target[] = [...startupTargets(r)];
  const tiny = r.plans.find((p) => p.model === 'tiny') ?? r.plans[0];
  const at = (level: string) => tiny?.levels.find((l) => l.level === level);
  const top = at('-O2') ?? at(r.defaultLevel);
  const layerCounts = top ? [top.prefill, ...top.decode].flatMap((x) => x.dispatches.perLayer) : [];
  const perLayer = layerCounts.length ? Math.max(...layerCounts) : undefined;
  out.push(atMost(`dispatches per layer (${top?.level ?? '-'}, most of any layer, prefill or decode)`, perLayer, 6, '', 'no plan was counted', 0));
  const o0 = at('-O0');
  const o2 = at('-O2');
  out.push(
    o0 && o2
      ? atMost('bytes moved -O2 / -O0 (prefill)', o2.prefill.bytes.total / o0.prefill.bytes.total, 1, '', '')
      : { name: 'bytes moved -O2 / -O0 (prefill)', measured: '-', target: '< 1', status: 'n/a', note: noLevelPair(r, tiny !== undefined) },
  );
  // rhc against onnxruntime-web on the same adapter: in Chromium when it ran there, else both in Node.
  const pairs: [RunnerName, RunnerName][] = [['rhc-chromium', 'ort-web-chromium'], ['rhc-node', 'ort-web-node']];
  for (const run of r.runs) {
    const pair = pairs.find(([a, b]) => runner(r, run.model, a) && runner(r, run.model, b));
    const speedup = pair ? runner(r, run.model, pair[1])!.prefill.median / runner(r, run.model, pair[0])!.prefill.median : undefined;
    const where = pair ? pair[0].replace('rhc-', '') : '';
    if (run.model === 'tiny' || run.model === 'micro')
      out.push(atLeast(`${run.model}: prefill ${r.prefillTokens}, ORT-web / rhc (${where || 'same adapter'})`, speedup, 8, 'x', 'rhc must get faster', 'onnxruntime-web and rhc did not both run'));
    if (isRealGpu(String(r.host.adapter)))
      out.push(atLeast(`${run.model}: real GPU prefill, ORT-web / rhc (${where || '-'})`, speedup, 2, 'x', 'rhc must get faster', 'onnxruntime-web and rhc did not both run'));
  }
  const base = runner(r, 'tiny', 'rhc-node') ?? runner(r, r.runs[0]?.model ?? '', 'rhc-node');
  const model = runner(r, 'tiny', 'rhc-node') ? 'tiny' : (r.runs[0]?.model ?? 'tiny');
  out.push(atLeast(`${model}: full-logits prefill / first token (rhc Node)`, base?.firstToken ? base.prefill.median / base.firstToken.median : undefined, 3, 'x', 'the first token must come sooner', 'rhc did not run in Node'));
  const d = base?.decode ?? [];
  const lo = d.find((x) => x.context === 16);
  const hi = d.find((x) => x.context === 512);
  out.push(atMost(`${model}: decode step @512 / @16 (rhc Node)`, lo && hi ? hi.sample.median / lo.sample.median : undefined, 1.2, 'x', 'decode was not measured at 16 and 512'));
  const level = r.compile?.levels.find((l) => l.level === r.defaultLevel) ?? r.compile?.levels[0];
  out.push(atMost(`compile ${r.compile?.model ?? 'GPT-2 medium'}, parse -> WGSL (${level?.level ?? '-'})`, level ? level.endToEnd.median / 1000 : undefined, 0.5, ' s', 'compile time was not measured', 3));
  const real = isRealGpu(String(r.host.adapter));
  const m = r.matmul;
  if (!real) out.push({ name: 'real GPU: f32 matmul / f32 peak', measured: m ? `${m.gflops.toFixed(1)} GFLOP/s` : '-', target: '>= 25%', status: 'n/a', note: `${r.host.adapter} is no real GPU` });
  else if (!m?.peakGflops) out.push({ name: 'real GPU: f32 matmul / f32 peak', measured: m ? `${m.gflops.toFixed(0)} GFLOP/s` : '-', target: '>= 25%', status: 'n/a', note: m ? 'peak unknown: pass --peak-gflops' : 'matmul not measured' });
  else out.push(atLeast('real GPU: f32 matmul / f32 peak', (100 * m.gflops) / m.peakGflops, 25, '%', 'the matmul kernel must get faster', ''));
  const t = r.training;
  out.push(atMost(`${t?.model ?? 'tiny'}: training step / forward of the same batch (rhc Node)`, t?.ratio, 3.5, 'x', 'training was not measured'));
  return out;
}
