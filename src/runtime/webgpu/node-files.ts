// ArtifactFiles over a local directory, for Node. Kept apart from artifact-files.ts so that
// browser bundles never see node:fs. Safetensors are read lazily, tensor by tensor, so a
// GPT-2 medium checkpoint (1.4 GB) is never held in memory whole.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { RhcError } from '../../dsl/diagnostics.ts';
import { readSafetensors } from '../../io/safetensors.ts';
import type { ArtifactFiles } from './artifact-files.ts';

export function nodeFiles(dir: string): ArtifactFiles {
  const root = path.resolve(dir);
  const resolve = (rel: string): string => {
    const file = path.resolve(root, rel);
    // Paths come from manifests; one that climbs out of the directory is refused, not followed.
    if (path.relative(root, file).startsWith('..')) throw new RhcError(`${root}: refusing to read '${rel}', which lies outside the directory`);
    return file;
  };
  const read = async <T>(rel: string, how: (file: string) => Promise<T>): Promise<T> => {
    const file = resolve(rel);
    try {
      return await how(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new RhcError(`${file}: ${code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
    }
  };
  return {
    location: `${root}${path.sep}`,
    text: (rel) => read(rel, (f) => fs.readFile(f, 'utf8')),
    bytes: (rel) => read(rel, async (f) => new Uint8Array(await fs.readFile(f))),
    safetensors: async (rel) => readSafetensors(resolve(rel)),
  };
}
