// ArtifactFiles over a local directory, for Node. Kept apart from artifact-files.ts so that
// browser bundles never see node:fs. Safetensors are read lazily, tensor by tensor, so a
// GPT-2 medium checkpoint (1.4 GB) is never held in memory whole. Other files are read as
// rhc reads everything: regular files only (a FIFO named plan.json must not hang a load),
// and no more bytes than the caller expects.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../../errors.ts';
import { fsReason, readRegularFile } from '../../io/files.ts';
import { readSafetensors } from '../../io/safetensors.ts';
import { FileTooLarge, type ArtifactFiles } from './artifact-files.ts';

/** What a read may take when the caller names no bound: more than any artifact file but constants. */
const DEFAULT_MAX_BYTES = 256 * 2 ** 20;

export function nodeFiles(dir: string): ArtifactFiles {
  const root = path.resolve(dir);
  const resolve = (rel: string): string => {
    const file = path.resolve(root, rel);
    // Paths come from manifests; one that climbs out of the directory is refused, not followed.
    if (path.relative(root, file).startsWith('..')) throw new RhcError(`${root}: refusing to read '${rel}', which lies outside the directory`);
    return file;
  };
  const bytes = async (rel: string, maxBytes = DEFAULT_MAX_BYTES): Promise<Uint8Array> => {
    const file = resolve(rel);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch (e) {
      throw new RhcError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : fsReason(e)}`);
    }
    if (size > maxBytes) throw new FileTooLarge(file, size, maxBytes);
    const data = readRegularFile(file, { maxBytes });
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  };
  return {
    location: `${root}${path.sep}`,
    text: async (rel, maxBytes) => new TextDecoder().decode(await bytes(rel, maxBytes)),
    bytes,
    safetensors: async (rel) => readSafetensors(resolve(rel)),
  };
}
