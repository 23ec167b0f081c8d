// RhcError: one fatal problem, for the user, with an optional source location. It lives apart
// from the DSL because every layer throws it (io, IR passes, backends, runtime); the CLI
// renders it at the edge (src/cli/errors.ts) through the diagnostics of src/dsl/diagnostics.ts.

import type { Diagnostic, SourceLocation } from './dsl/diagnostics.ts';

/** Thrown for a single fatal problem; collected into a Diagnostic list by callers that keep going. */
export class RhcError extends Error {
  constructor(message: string, readonly loc?: SourceLocation) {
    super(message);
    this.name = 'RhcError';
  }
  toDiagnostic(): Diagnostic {
    return { severity: 'error', message: this.message, loc: this.loc };
  }
}
