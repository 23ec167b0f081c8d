// Charts for `rhc plot`: training runs (their metrics.jsonl) and a checkpoint's per-head rotation
// frequencies, as Vega-Lite specs rendered to SVG in Node (vega's headless 'none' renderer: no
// browser, no canvas).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { RhcError } from '../errors.ts';
import { readTextFile } from '../io/files.ts';
import { rotationFrequencies, type FrequencyValue } from '../model/frequencies.ts';
import type { Model } from '../model/model.ts';

export const METRICS_FILE = 'metrics.jsonl';
const MAX_METRICS_BYTES = 256 * 2 ** 20;

/** A training record (one optimizer step). */
export interface TrainRecord { step: number; epoch?: number; loss: number; lr?: number; grad_norm?: number; tokens_per_s?: number }
/** An eval record. */
export interface EvalRecord { step: number; eval_loss: number; perplexity: number; accuracy?: number; eval_tokens?: number }

export interface Run {
  /** the run directory's basename */
  name: string;
  dir: string;
  train: TrainRecord[];
  eval: EvalRecord[];
}

/** Reads a run directory's metrics.jsonl: training records (`loss`) and eval records (`eval_loss`); other lines are refused. */
export function readRun(dir: string): Run {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new RhcError(`run directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new RhcError(`${dir} is not a run directory (expected a directory holding ${METRICS_FILE})`);
  const file = path.join(dir, METRICS_FILE);
  if (!fs.existsSync(file)) throw new RhcError(`${dir} holds no ${METRICS_FILE}: not a run directory of rhc train`);
  const text = readTextFile(file, { maxBytes: MAX_METRICS_BYTES, what: 'metrics file' });
  const run: Run = { name: path.basename(path.resolve(dir)), dir, train: [], eval: [] };
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new RhcError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new RhcError(`${where}: expected a JSON object, one record per line`);
    const r = rec as Record<string, unknown>;
    const num = (key: string, required: boolean): number | undefined => {
      const v = r[key];
      if (v === undefined && !required) return undefined;
      // JSON has no NaN or Infinity; a diverged run writes null there
      if (v === null && !required) return undefined;
      if (typeof v !== 'number') throw new RhcError(`${where}: '${key}' must be a number, got ${JSON.stringify(v) ?? 'nothing'}`);
      return v;
    };
    const step = num('step', true)!;
    if ('eval_loss' in r) {
      const evalLoss = num('eval_loss', false);
      if (evalLoss === undefined) return;
      run.eval.push({ step, eval_loss: evalLoss, perplexity: num('perplexity', false) ?? Math.exp(evalLoss), accuracy: num('accuracy', false), eval_tokens: num('eval_tokens', false) });
    } else if ('loss' in r) {
      const loss = num('loss', false);
      if (loss === undefined) return;
      run.train.push({ step, loss, epoch: num('epoch', false), lr: num('lr', false), grad_norm: num('grad_norm', false), tokens_per_s: num('tokens_per_s', false) });
    } else {
      throw new RhcError(`${where}: neither a training record ('loss') nor an eval record ('eval_loss')`);
    }
  });
  return run;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Training loss, eval perplexity and eval accuracy against step, one colour per run. */
export function metricsChartSpec(runs: readonly Run[]): TopLevelSpec {
  const values: Record<string, number | string>[] = [];
  for (const run of runs) {
    for (const r of run.train) values.push({ run: run.name, step: r.step, loss: r.loss });
    for (const r of run.eval) values.push({ run: run.name, step: r.step, perplexity: r.perplexity, ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}) });
  }
  const names = runs.map((r) => r.name);
  const panel = (title: string, field: string, yTitle: string, points: boolean) => ({
    title,
    width: 280,
    height: 220,
    transform: [{ filter: `isValid(datum.${field})` }],
    mark: { type: 'line' as const, point: points, clip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative' as const, title: 'step' },
      y: { field, type: 'quantitative' as const, title: yTitle, scale: { zero: false } },
      color: { field: 'run', type: 'nominal' as const, title: 'run', scale: { domain: names } },
      tooltip: [{ field: 'run', type: 'nominal' as const }, { field: 'step', type: 'quantitative' as const }, { field, type: 'quantitative' as const }],
    },
  });
  return {
    $schema: SCHEMA,
    title: runs.length === 1 ? `run ${names[0]}` : `${runs.length} runs`,
    data: { values },
    hconcat: [panel('training loss', 'loss', 'loss (nats)', false), panel('eval perplexity', 'perplexity', 'perplexity', true), panel('eval accuracy', 'accuracy', 'next-token accuracy', true)],
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

export type { FrequencyValue } from '../model/frequencies.ts';

/** Each layer's per-head rotation frequencies of a loaded model (see rotationFrequencies). */
export function modelFrequencies(model: Model): FrequencyValue[] {
  return rotationFrequencies(model.graph, (name) => model.weights.get(name), path.basename(model.specFile));
}

/**
 * A heat map per layer: head (rows) by frequency index (columns), coloured on a log scale. Learned
 * or normalised frequencies can be negative (a rotation the other way), so when any is not
 * positive the colour is |f| (the tooltip keeps the sign).
 */
export function frequencyChartSpec(model: Model, opts: { title?: string } = {}): TopLevelSpec {
  const values = modelFrequencies(model);
  const layers = model.graph.config.n_layer as number;
  const H = model.graph.config.n_head as number;
  const half = (model.graph.config.n_embd as number) / H / 2;
  const positive = values.every((v) => v.frequency > 0);
  const colorField = positive ? 'frequency' : 'magnitude';
  const step = Math.max(4, Math.min(16, Math.floor(320 / half)));
  return {
    $schema: SCHEMA,
    title: opts.title ?? `rotation frequencies of ${path.basename(model.specFile, '.rh')}`,
    data: { values: positive ? values : values.map((v) => ({ ...v, magnitude: Math.abs(v.frequency) })) },
    columns: Math.min(layers, 4),
    concat: Array.from({ length: layers }, (_, layer) => ({
      title: `layer ${layer}`,
      width: { step },
      height: { step: Math.max(8, Math.min(20, Math.floor(200 / H))) },
      transform: [{ filter: `datum.layer === ${layer}` }],
      mark: { type: 'rect' as const },
      encoding: {
        x: { field: 'index', type: 'ordinal' as const, title: 'frequency index i', axis: { labelOverlap: true } },
        y: { field: 'head', type: 'ordinal' as const, title: 'head' },
        color: { field: colorField, type: 'quantitative' as const, title: positive ? 'frequency' : '|frequency|', scale: { type: 'log' as const, scheme: 'viridis' } },
        tooltip: [{ field: 'head', type: 'ordinal' as const }, { field: 'index', type: 'ordinal' as const }, { field: 'frequency', type: 'quantitative' as const, format: '.4g' }],
      },
    })),
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

/** A Vega-Lite spec rendered to SVG headlessly. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec);
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
