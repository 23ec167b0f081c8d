import type { Command } from 'commander';
import { printGraph } from '../../ir/printer.ts';
import { graphToJson } from '../../ir/serialize.ts';
import { lowerSpec } from '../../model/model.ts';
import { IR_PIPELINE, PASSES, pipelineStages } from '../../passes/pipeline.ts';
import { DEFAULT_OPT_LEVEL, type OptLevel } from '../../passes/fuse.ts';
import { collectSet, OPT_LEVEL_HELP, parseOptLevel } from '../options.ts';
import { UsageError } from '../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

interface IrOptions { set: ConfigOverride[]; json?: boolean; after?: string; passes?: string; opt: OptLevel }

export function registerIr(program: Command): void {
  program
    .command('ir')
    .description('print the IR a spec lowers to (one typed node per line), before or after optimisation passes')
    .argument('<file>', 'a .rh file declaring a model')
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .option('--after <pass>', `print the IR after this stage of the standard pipeline (${IR_PIPELINE.join(', ')}; 'all' for the end)`)
    .option('--passes <list>', `run these passes in order instead of the pipeline, printing the result (comma-separated: ${PASSES.map((p) => p.name).join(', ')}); not with --after`)
    .option('-O, --opt <level>', `${OPT_LEVEL_HELP}; what fuse does`, parseOptLevel, DEFAULT_OPT_LEVEL)
    .option('--json', 'print the JSON serialisation instead of text')
    .action((file: string, opts: IrOptions) => {
      if (opts.after !== undefined && opts.passes !== undefined)
        throw new UsageError('give --after (a stage of the standard pipeline) or --passes (your own list), not both');
      const names = opts.passes !== undefined ? opts.passes.split(',').map((s) => s.trim()).filter(Boolean) : IR_PIPELINE;
      const unknown = names.find((n) => !PASSES.some((p) => p.name === n));
      if (unknown) throw new UsageError(`unknown pass '${unknown}' (passes: ${PASSES.map((p) => p.name).join(', ')})`);
      if (names.filter((n) => n === 'kv-cache').length > 1) throw new UsageError('--passes: kv-cache adds the cache inputs once; list it once');
      let graph = lowerSpec(file, opts.set);
      if (opts.after !== undefined || opts.passes !== undefined) {
        const stages = pipelineStages(graph, names, { level: opts.opt });
        const want = opts.after === undefined || opts.after === 'all' ? stages.length - 1 : stages.findIndex((s, i) => i > 0 && s.pass === opts.after);
        if (want < 0) throw new UsageError(`--after: '${opts.after}' is not a stage of ${names.join(', ')}`);
        graph = stages[want].graph;
      }
      process.stdout.write(opts.json ? JSON.stringify(graphToJson(graph), null, 1) + '\n' : printGraph(graph));
    });
}
