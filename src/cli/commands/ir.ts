import type { Command } from 'commander';
import { printGraph } from '../../ir/printer.ts';
import { graphToJson } from '../../ir/serialize.ts';
import { lowerSpec } from '../../model/model.ts';
import { collectSet } from '../options.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

export function registerIr(program: Command): void {
  program
    .command('ir')
    .description('print the IR a spec lowers to (one typed node per line)')
    .argument('<file>', 'a .rh file declaring a model')
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .option('--json', 'print the JSON serialisation instead of text')
    .action((file: string, opts: { set: ConfigOverride[]; json?: boolean }) => {
      const graph = lowerSpec(file, opts.set);
      process.stdout.write(opts.json ? JSON.stringify(graphToJson(graph), null, 1) + '\n' : printGraph(graph));
    });
}
