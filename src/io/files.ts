// File-system failures become user errors that name what was being written, not stack traces.

import { RhcError } from '../dsl/diagnostics.ts';

const REASONS: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a file is in the way',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/** Runs `write`; a Node file-system error becomes `RhcError("cannot write <what>: <reason>")`. */
export function writingFiles<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new RhcError(`cannot write ${what}: ${REASONS[code] ?? (e as Error).message}`);
  }
}
