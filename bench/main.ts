// `npm run bench [-- options]`: start-up, compile time, plan costs and run times of rhc beside its peers
// (onnxruntime-web's WebGPU EP, onnxruntime-node on the CPU), all in one run; prints the tables
// and writes the results as JSON. bench/README.md says what is measured and how.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { acquireDevice, DEFAULT_LEVEL, lowerForBench, OPT_LEVELS, planForBench, RHC_VERSION, type GpuContext } from './rhc-api.ts';
import { compileTimes } from './compile-time.ts';
import { startupEntry, startupTimes } from './startup.ts';
import { attentionDims, COMPILE_MODEL, MODELS, prepareModel, ROOT, specFile, type ModelDef, type PreparedModel } from './models.ts';
import { bytesMoved, countDispatches, plannedMemory } from './plan-stats.ts';
import { matmulRate, knownPeak } from './matmul.ts';
import { trainingRate } from './training.ts';
import { renderReport, RUNNERS, type BenchResult, type PlanLevel, type RunnerName, type RunnerRun } from './report.ts';
import { judgeTargets } from './targets.ts';
import { runWorkload, type Engine, type EngineResult, type Workload } from './runners/protocol.ts';
import { ortNodeEngine, ortWebNodeEngine, rhcNodeEngine } from './runners/node.ts';
import { CHROMIUM, runInChromium } from './browser/driver.ts';
import type { Repeats } from './stats.ts';

const PREFILL = 128;
const CONTEXTS = [16, 128, 512];
const SECTIONS = ['startup', 'compile', 'plans', 'runs', 'matmul', 'training'] as const;
/** The sections that run on the WebGPU adapter; the others need no device. */
const GPU_SECTIONS: readonly string[] = ['runs', 'matmul', 'training'];

const USAGE = `usage: npm run bench -- [--quick] [--models tiny,small] [--runners ${RUNNERS.join(',')}]
  [--sections ${SECTIONS.join(',')}] [--matmul-n N] [--matmul-depth D] [--peak-gflops G]
  [--train-batch B] [--train-seq S] [--work DIR] [--out DIR] [--tag NAME] [--rhc FILE] [--dry-run]
  --quick      1 warm-up and 3 timed repeats (default 2 and up to 7, at least 3 within a minute)
  --models     of ${Object.keys(MODELS).join(', ')} (default tiny,small; small is slow on SwiftShader)
  --runners    default: all but ort-web-node where Chromium exists, else rhc-node,ort-web-node,ort-node
  --dry-run    --quick --models micro --matmul-n 128: checks the bench itself in a minute or two
  --train-seq  tokens per block of the training section (default 64; the batch, --train-batch, 1)
  --rhc FILE   the rhc entry point the startup section times (default bin/rhc.js over dist/ when
               npm run build has made it, else src/cli/main.ts through tsx, said so in the tables)
JSON goes to OUT/<time>[-tag].json (OUT/<time>[-tag].tmp.json with --quick or --dry-run; git ignores those).`;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      models: { type: 'string' },
      runners: { type: 'string' },
      sections: { type: 'string', default: SECTIONS.join(',') },
      'matmul-n': { type: 'string' },
      'matmul-depth': { type: 'string', default: '5' },
      'peak-gflops': { type: 'string' },
      'train-batch': { type: 'string' },
      'train-seq': { type: 'string' },
      work: { type: 'string', default: path.join(ROOT, 'tmp/bench-work') },
      out: { type: 'string', default: path.join(ROOT, 'bench/results') },
      tag: { type: 'string' },
      rhc: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const dry = values['dry-run'];
  const list = (s: string | undefined, allowed: readonly string[], flag: string) => {
    const xs = (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    const bad = xs.find((x) => !allowed.includes(x));
    if (bad) throw new Error(`${flag}: '${bad}' is not one of ${allowed.join(', ')}`);
    return xs;
  };
  const chromium = fs.existsSync(CHROMIUM);
  const runners = list(values.runners ?? (chromium ? 'rhc-node,rhc-chromium,ort-web-chromium,ort-node' : 'rhc-node,ort-web-node,ort-node'), RUNNERS, '--runners') as RunnerName[];
  const int = (s: string | undefined, flag: string, dflt: number) => {
    const n = s === undefined ? dflt : Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${s}`);
    return n;
  };
  return {
    quick: values.quick || dry,
    dry,
    models: list(values.models ?? (dry ? 'micro' : 'tiny,small'), Object.keys(MODELS), '--models'),
    runners,
    sections: list(values.sections, SECTIONS, '--sections'),
    matmulN: int(values['matmul-n'], '--matmul-n', dry ? 128 : 512),
    matmulDepth: Math.max(2, int(values['matmul-depth'], '--matmul-depth', 5)),
    trainBatch: int(values['train-batch'], '--train-batch', 1),
    trainSeq: int(values['train-seq'], '--train-seq', dry ? 16 : 64),
    peakGflops: values['peak-gflops'] === undefined ? undefined : int(values['peak-gflops'], '--peak-gflops', 0),
    work: path.resolve(values.work),
    out: path.resolve(values.out),
    tag: values.tag,
    rhc: values.rhc,
    startupRuns: dry ? 3 : values.quick ? 5 : 11,
    chromium,
  };
}

const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

function planLevels(def: ModelDef): BenchResult['plans'][number] {
  const graph = lowerForBench(specFile(def), def.dims);
  const levels: PlanLevel[] = OPT_LEVELS.map((level) => {
    const { artifact, writtenElements } = planForBench(graph, def.spec, level);
    const prefill = { batch: 1, seq: PREFILL, past: 0 };
    const first = { batch: 1, seq: PREFILL, past: 0, logitRows: 1 };
    return {
      level,
      prefill: { dispatches: countDispatches(artifact, prefill), bytes: bytesMoved(artifact, prefill, writtenElements) },
      firstToken: { dispatches: countDispatches(artifact, first), bytes: bytesMoved(artifact, first, writtenElements) },
      decode: CONTEXTS.map((context) => {
        const s = { batch: 1, seq: 1, past: context, logitRows: 1 };
        return { context, dispatches: countDispatches(artifact, s), bytes: bytesMoved(artifact, s, writtenElements) };
      }),
      memory: plannedMemory(artifact.plan),
    };
  });
  return { model: def.name, about: def.about, layers: def.dims.n_layer, levels };
}

async function nodeEngine(name: RunnerName, ctx: GpuContext, p: PreparedModel): Promise<Engine> {
  if (name === 'rhc-node') return rhcNodeEngine(ctx, p, DEFAULT_LEVEL);
  if (name === 'ort-node') return ortNodeEngine(p);
  return ortWebNodeEngine(p);
}

function maxAbsDiff(a: number[], b: number[]): number {
  if (a.length !== b.length || a.length === 0) return Infinity;
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}

function strip(r: EngineResult): Omit<EngineResult, 'lastLogits'> {
  const { lastLogits: _, ...rest } = r;
  return rest;
}

/** Runs every model on every runner, adding to `runs` as results come (a SIGTERM keeps what came). */
async function runModels(o: ReturnType<typeof options>, ctx: GpuContext, repeats: Repeats, runs: BenchResult['runs']): Promise<{ userAgent?: string }> {
  const withOnnx = o.runners.some((r) => r.startsWith('ort-'));
  const logits = new Map<string, Map<RunnerName, number[]>>();
  const prepared: PreparedModel[] = [];
  for (const name of o.models) {
    const def = MODELS[name];
    say(`${name}: writing checkpoint, artifact${withOnnx ? ' and ONNX exports' : ''} under ${o.work}`);
    const p = await prepareModel(def, o.work, DEFAULT_LEVEL, withOnnx);
    prepared.push(p);
    const workload: Workload = { vocab: def.dims.vocab_size, prefillTokens: PREFILL, contexts: CONTEXTS, repeats };
    const entry = { model: name, about: def.about, runners: [] as RunnerRun[] };
    runs.push(entry);
    logits.set(name, new Map());
    for (const runner of o.runners.filter((r) => !r.endsWith('-chromium'))) {
      say(`${name}: ${runner}...`);
      const load = os.loadavg()[0];
      let engine: Engine | undefined;
      try {
        engine = await nodeEngine(runner, ctx, p);
        const r = await runWorkload(engine, workload);
        logits.get(name)!.set(runner, r.lastLogits);
        entry.runners.push({ runner, adapter: runner === 'ort-node' ? 'cpu' : ctx.describe(), result: strip(r), load });
        say(`${name}: ${runner}: prefill ${r.prefill.median.toFixed(0)} ms`);
      } catch (e) {
        entry.runners.push({ runner, error: (e as Error).message.split('\n')[0], load });
        say(`${name}: ${runner} failed: ${(e as Error).message}`);
      } finally {
        await engine?.dispose();
      }
    }
  }
  let userAgent: string | undefined;
  const pageRunners = o.runners.filter((r) => r.endsWith('-chromium'));
  if (pageRunners.length && !o.chromium) for (const e of runs) for (const r of pageRunners) e.runners.push({ runner: r, error: `${CHROMIUM} is missing` });
  else if (pageRunners.length) {
    const tasks = prepared.flatMap((p) => pageRunners.map((r) => ({ runner: r, model: p.def.name, task: { kind: r === 'rhc-chromium' ? ('rhc' as const) : ('ort-web' as const), base: `${p.def.name}/`, attention: attentionDims(p.def), workload: { vocab: p.def.dims.vocab_size, prefillTokens: PREFILL, contexts: CONTEXTS, repeats } } })));
    say(`chromium: ${tasks.map((t) => `${t.model}/${t.runner}`).join(', ')}...`);
    // Each task starts when the one before it ends: that is when its load is read.
    const loads = [os.loadavg()[0]];
    try {
      const run = await runInChromium(o.work, tasks.map((t) => t.task), (i, r) => {
        loads.push(os.loadavg()[0]);
        say(`${tasks[i].model}: ${tasks[i].runner}: ${r.ok ? `prefill ${r.result.prefill.median.toFixed(0)} ms` : `failed: ${r.error}`}`);
      });
      userAgent = run.userAgent;
      run.results.forEach((r, i) => {
        const { model, runner } = tasks[i];
        const entry = runs.find((x) => x.model === model)!;
        if (r.ok) logits.get(model)!.set(runner, r.result.lastLogits);
        entry.runners.push(r.ok ? { runner, adapter: r.adapter, result: strip(r.result), load: loads[i] } : { runner, error: r.error, load: loads[i] });
      });
    } catch (e) {
      for (const entry of runs) for (const runner of pageRunners) entry.runners.push({ runner, error: `Chromium: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  for (const entry of runs) {
    const mine = logits.get(entry.model)!;
    const ref = mine.get('rhc-node') ?? [...mine.values()][0];
    for (const r of entry.runners) if (mine.has(r.runner) && r.runner !== 'rhc-node' && ref) r.maxAbsDiff = maxAbsDiff(mine.get(r.runner)!, ref);
    entry.runners.sort((a, b) => RUNNERS.indexOf(a.runner) - RUNNERS.indexOf(b.runner));
  }
  return { userAgent };
}

async function main(): Promise<void> {
  const o = options();
  const startedAt = new Date().toISOString();
  const repeats: Repeats = o.quick ? { warmup: 1, repeats: 3 } : { warmup: 2, repeats: 7, budgetMs: 60_000 };
  const ctx = o.sections.some((s) => GPU_SECTIONS.includes(s)) ? await acquireDevice() : undefined;
  const result: Omit<BenchResult, 'targets' | 'finishedAt'> = {
    format: 'rhc-bench',
    version: 1,
    startedAt,
    options: { ...o, work: path.relative(ROOT, o.work), out: path.relative(ROOT, o.out) },
    host: { rhc: RHC_VERSION, node: process.version, cpu: os.cpus()[0]?.model ?? '?', cpus: os.cpus().length, ...(ctx ? { adapter: ctx.info.description || ctx.info.device || ctx.info.vendor || 'unknown', adapterDetails: ctx.describe(), fallback: ctx.info.isFallbackAdapter } : { adapter: 'none (no section used the GPU)' }) },
    levels: OPT_LEVELS,
    defaultLevel: DEFAULT_LEVEL,
    prefillTokens: PREFILL,
    contexts: CONTEXTS,
    plans: [],
    runs: [],
  };
  // A watchdog (bench/device/run.sh's timeout) still gets the tables of what ran.
  const stopped = () => {
    finish(result, o, startedAt, true);
    process.exit(124);
  };
  process.on('SIGTERM', stopped);
  try {
    if (o.sections.includes('startup')) {
      const entry = startupEntry(ROOT, o.rhc);
      say(`startup: ${entry.label}, ${o.startupRuns} runs of each command${entry.note ? ` (${entry.note})` : ''}...`);
      result.startup = startupTimes(ROOT, entry, { warmup: 1, repeats: o.startupRuns });
    }
    if (o.sections.includes('compile')) {
      say(`compile: ${COMPILE_MODEL.about}...`);
      result.compile = { model: COMPILE_MODEL.name, about: COMPILE_MODEL.about, levels: OPT_LEVELS.map((l) => compileTimes(COMPILE_MODEL, l, repeats)) };
    }
    if (o.sections.includes('plans')) {
      for (const def of [COMPILE_MODEL, ...o.models.map((m) => MODELS[m])]) {
        say(`plans: ${def.name}...`);
        result.plans.push(planLevels(def));
      }
    }
    if (o.sections.includes('runs') && ctx) {
      const { userAgent } = await runModels(o, ctx, repeats, result.runs);
      if (userAgent) result.host.chromium = /Chrome\/[\d.]+/.exec(userAgent)?.[0] ?? userAgent;
    }
    if (o.sections.includes('matmul') && ctx) {
      say(`matmul: [${o.matmulN}]^2, depth ${o.matmulDepth}...`);
      const m = await matmulRate(ctx, o.matmulN, o.matmulDepth, DEFAULT_LEVEL, repeats);
      const peak = o.peakGflops !== undefined ? { gflops: o.peakGflops, name: 'the given' } : knownPeak(ctx.describe());
      result.matmul = { ...m, ...(peak ? { peakGflops: peak.gflops, peakName: peak.name } : {}) };
    }
    if (o.sections.includes('training') && ctx) {
      const def = MODELS[o.models[0]];
      say(`training: ${def.name}, batch ${o.trainBatch} x ${o.trainSeq} tokens...`);
      result.training = await trainingRate(ctx, def, o.trainBatch, o.trainSeq, repeats);
    }
  } finally {
    process.off('SIGTERM', stopped);
    ctx?.destroy();
  }
  finish(result, o, startedAt);
}

/** Prints the tables and writes the JSON of what has been measured (all of it, or up to a SIGTERM). */
function finish(result: Omit<BenchResult, 'targets' | 'finishedAt'>, o: ReturnType<typeof options>, startedAt: string, cut = false): void {
  const done: BenchResult = { ...result, finishedAt: new Date().toISOString(), targets: judgeTargets({ ...result, finishedAt: '' }) };
  process.stdout.write(renderReport(done) + (cut ? '\n(stopped by SIGTERM: the sections above are all that ran)\n' : ''));
  fs.mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, `${startedAt.replace(/[:.]/g, '-')}${o.tag ? `-${o.tag.replace(/[^\w-]/g, '_')}` : ''}${o.quick || cut ? '.tmp' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify(done, null, 1) + '\n');
  say(`wrote ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
