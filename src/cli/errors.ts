// Every error reaches the user as text, rendered once here: diagnostics with their source
// lines, RhcErrors as one line, anything else as an internal error (stack only with RHC_DEBUG=1).

import { DiagnosticsError, renderDiagnostic, type Diagnostic, type SourceMap } from '../dsl/diagnostics.ts';
import { RhcError } from '../errors.ts';

export class UsageError extends Error {}

/** Exit statuses, one meaning each (documented in `rhc --help`). */
export const EXIT = { ok: 0, error: 1, usage: 2, internal: 70 } as const;

export const EXIT_STATUS_HELP = `
Exit status:
  0   success
  1   the input was wrong or could not be read or written: a spec, a checkpoint, a file, or a --set value the
      spec rejects (the message names the file, line and column, tensor or flag)
  2   the command line was wrong (unknown command or option, a bad option value, options that exclude each other)
  70  an internal error in rhc (please report it; RHC_DEBUG=1 shows the stack)`;

/** Prints diagnostics to stderr; returns true when any is an error. */
export function reportDiagnostics(diagnostics: readonly Diagnostic[], sources: SourceMap): boolean {
  for (const d of diagnostics) process.stderr.write(renderDiagnostic(d, sources) + '\n');
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 1) process.stderr.write(`${errors} errors\n`);
  return errors > 0;
}

export function reportError(e: unknown): number {
  if (e instanceof DiagnosticsError) {
    reportDiagnostics(e.diagnostics, e.sources);
    return EXIT.error;
  }
  if (e instanceof RhcError || e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
    return e instanceof UsageError ? EXIT.usage : EXIT.error;
  }
  const err = e as Error;
  // GpuError's messages are written for users (matched by name: the WebGPU runtime loads lazily).
  if (err?.name === 'GpuError') {
    process.stderr.write(`error: ${err.message}\n`);
    return EXIT.error;
  }
  process.stderr.write(`internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.RHC_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  else process.stderr.write('(set RHC_DEBUG=1 for a stack trace, and please report this as a bug)\n');
  return EXIT.internal;
}
