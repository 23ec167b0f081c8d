import * as path from 'node:path';
import type { Command } from 'commander';
import { checkOutputNotInput, writeFileAtomic } from '../../io/files.ts';
import { loadModel } from '../../model/model.ts';
import { frequencyChartSpec, metricsChartSpec, readRun, renderSvg, METRICS_FILE } from '../../train/plot.ts';
import { UsageError } from '../errors.ts';

interface PlotFlags { out: string; frequencies?: string }

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description(
      `chart training runs as SVG: training loss, eval perplexity and eval accuracy against step, one colour per run (each RUN_DIR holds the ${METRICS_FILE} rhc train writes; a run is named by its directory); ` +
        "or, with --frequencies, a checkpoint's per-head rotation frequencies as the model uses them (after the frequency LayerNorm for -norm variants), a heat map per layer on a log colour scale",
    )
    .argument('[run-dirs...]', `run directories, each with a ${METRICS_FILE}`)
    .option('--frequencies <model-dir>', "plot this checkpoint's rotation frequencies instead of runs (evaluated from its graph: LR, LR+norm, GP, GP+norm, RoPE, or any spec that rotates by pos * f)")
    .requiredOption('-o, --out <file.svg>', 'where to write the SVG, whole or not at all')
    .action(async (runDirs: string[], opts: PlotFlags) => {
      if (opts.frequencies !== undefined && runDirs.length > 0) throw new UsageError('give run directories or --frequencies MODEL_DIR, not both');
      if (opts.frequencies === undefined && runDirs.length === 0) throw new UsageError('give at least one run directory (or --frequencies MODEL_DIR)');
      let spec;
      let what: string;
      if (opts.frequencies !== undefined) {
        const model = loadModel(opts.frequencies);
        checkOutputNotInput(opts.out, model.inputs, '--out');
        spec = frequencyChartSpec(model, { title: `rotation frequencies of ${path.basename(path.resolve(opts.frequencies))} (${path.basename(model.specFile, '.rh')})` });
        what = `rotation frequencies of ${model.graph.config.n_layer} layers`;
      } else {
        const runs = runDirs.map(readRun);
        checkOutputNotInput(opts.out, runs.map((r) => path.join(r.dir, METRICS_FILE)), '--out');
        spec = metricsChartSpec(runs);
        what = `${runs.length} run${runs.length === 1 ? '' : 's'} (${runs.map((r) => r.name).join(', ')})`;
      }
      const svg = await renderSvg(spec);
      writeFileAtomic(opts.out, svg);
      process.stdout.write(`wrote ${opts.out}: ${what}\n`);
    });
}
