// The `rhc` program: its commands (each in commands/) and `main`, which runs one command line
// and returns the exit status. Importing it runs nothing, so tests can run commands in-process;
// main.ts is the entry point that runs it on process.argv.

import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../package.ts';
import { EXIT, EXIT_STATUS_HELP, reportError } from './errors.ts';

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs: a command pulls in what its
 * action needs (the DSL for `check`; the WebGPU backend for `compile`; onnxruntime, ts-morph,
 * vega for the commands that use them), and `rhc --version` loads none of them.
 */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Register>]> = [
  ['check', async () => (await import('./commands/check.ts')).registerCheck],
  ['ir', async () => (await import('./commands/ir.ts')).registerIr],
  ['init-weights', async () => (await import('./commands/init-weights.ts')).registerInitWeights],
  ['forward', async () => (await import('./commands/forward.ts')).registerForward],
  ['compile', async () => (await import('./commands/compile.ts')).registerCompile],
  ['generate', async () => (await import('./commands/generate.ts')).registerGenerate],
  ['grad', async () => (await import('./commands/grad.ts')).registerGrad],
  ['train', async () => (await import('./commands/train.ts')).registerTrain],
  ['eval', async () => (await import('./commands/eval.ts')).registerEval],
  ['plot', async () => (await import('./commands/plot.ts')).registerPlot],
];

/**
 * The commands a command line needs registered: the one it names; none for `--version`; all of
 * them otherwise (help lists every command, and an unknown one is answered with the nearest names).
 */
function commandsFor(argv: readonly string[]): ReadonlyArray<(typeof COMMANDS)[number]> {
  const first = argv[0];
  const named = COMMANDS.find(([name]) => name === first);
  if (named) return [named];
  if (argv.length === 1 && (first === '--version' || first === '-V')) return [];
  return COMMANDS;
}

/** The program with the commands `argv` needs (all of them when argv is not given). */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('rhc')
    .description('rhc compiles Rotating-Head GPT-2 models written in the .rh language')
    .version(PACKAGE_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_STATUS_HELP)
    .exitOverride();
  const registers = await Promise.all((argv ? commandsFor(argv) : COMMANDS).map(([, load]) => load()));
  for (const register of registers) register(program);
  for (const c of program.commands) c.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // commander already printed its message (or the help text) for these; its errors are usage errors
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT.usage;
    return reportError(e);
  }
}
