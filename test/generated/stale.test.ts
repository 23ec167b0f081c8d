// generated/ must be what scripts/generate-artifacts.ts writes today: each seed spec's WebGPU
// artifact is regenerated in memory and compared file by file with the committed one.
// When this fails, run `npx tsx scripts/generate-artifacts.ts` and commit generated/.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, SEED_ARTIFACTS, listFiles, seedArtifact } from '../../scripts/generate-artifacts.ts';

const HOW = 'generated/ is stale: run `npx tsx scripts/generate-artifacts.ts` and commit generated/';

describe('generated/', () => {
  it('holds an artifact for each seed spec and nothing else', () => {
    const dirs = fs.readdirSync(GENERATED_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(dirs.sort(), HOW).toEqual([...SEED_ARTIFACTS].sort());
  });

  it.each(SEED_ARTIFACTS)('%s is up to date', (name) => {
    const dir = path.join(GENERATED_DIR, name);
    const { files } = seedArtifact(name);
    expect(listFiles(dir).sort(), `${HOW} (files of generated/${name}/ differ)`).toEqual([...files.keys()].sort());
    for (const [rel, contents] of files) {
      const committed = fs.readFileSync(path.join(dir, rel));
      const fresh = typeof contents === 'string' ? Buffer.from(contents) : Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength);
      // Compare bytes, but report the first differing line of text files: a 2 MB diff helps nobody.
      if (!committed.equals(fresh)) {
        const a = committed.toString('utf8').split('\n');
        const b = fresh.toString('utf8').split('\n');
        const line = a.findIndex((l, i) => l !== b[i]);
        expect.fail(`${HOW}: generated/${name}/${rel} differs${typeof contents === 'string' ? ` from line ${line + 1}:\n  committed: ${a[line]}\n  now:       ${b[line]}` : ' (binary)'}`);
      }
    }
  });
});
