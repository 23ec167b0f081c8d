import type { Command } from 'commander';
import { checkFile } from '../../dsl/compile.ts';
import { collectSet } from '../options.ts';
import { reportDiagnostics } from '../errors.ts';
import type { ConfigOverride } from '../../dsl/config.ts';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('parse and check .rh files: syntax, names, imports, every shape and dtype')
    .argument('<files...>', '.rh files to check')
    .option('--set <name=value>', 'override a config value (repeatable)', collectSet, [])
    .action((files: string[], opts: { set: ConfigOverride[] }) => {
      let failed = false;
      for (const file of files) {
        const r = checkFile(file, { overrides: opts.set });
        if (reportDiagnostics(r.diagnostics, r.sources)) failed = true;
        else process.stdout.write(`${file}: ok\n`);
      }
      process.exitCode = failed ? 1 : 0;
    });
}
