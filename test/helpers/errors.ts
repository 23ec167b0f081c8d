import { expect } from 'vitest';
import { RhcError } from '../../src/errors.ts';

/** Runs `fn`, which must throw an RhcError (a user-facing error); returns it for message checks. */
export function rhcErrorOf(fn: () => unknown): RhcError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RhcError);
    return e as RhcError;
  }
  throw new Error('expected an RhcError, nothing was thrown');
}
