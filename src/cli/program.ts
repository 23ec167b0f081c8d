// The `rhc` program: its commands (each in commands/) and `main`, which runs one command line
// and returns the exit status. Importing it runs nothing, so tests can run commands in-process;
// main.ts is the entry point that runs it on process.argv.

import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { registerCheck } from './commands/check.ts';
import { registerIr } from './commands/ir.ts';
import { registerInitWeights } from './commands/init-weights.ts';
import { registerForward } from './commands/forward.ts';
import { registerCompile } from './commands/compile.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerGrad } from './commands/grad.ts';
import { registerTrain } from './commands/train.ts';
import { registerEval } from './commands/eval.ts';
import { registerPlot } from './commands/plot.ts';
import { EXIT, EXIT_STATUS_HELP, reportError } from './errors.ts';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('rhc')
    .description('rhc compiles Rotating-Head GPT-2 models written in the .rh language')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_STATUS_HELP)
    .exitOverride();
  registerCheck(program);
  registerIr(program);
  registerInitWeights(program);
  registerForward(program);
  registerCompile(program);
  registerGenerate(program);
  registerGrad(program);
  registerTrain(program);
  registerEval(program);
  registerPlot(program);
  for (const c of program.commands) c.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // commander already printed its message (or the help text) for these; its errors are usage errors
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT.usage;
    return reportError(e);
  }
}
