// Regenerates generated/<spec>/, the WebGPU artifacts of the seed specs at their default
// (GPT-2 medium) dims, exactly as `rhc compile spec/<spec>.rh --target webgpu` writes them.
// test/generated/stale.test.ts fails when the committed files differ from what this writes.
//
//   npx tsx scripts/generate-artifacts.ts

import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildArtifact, writeArtifact, type Artifact } from '../backends/webgpu/artifact.ts';
import { lowerSpec } from '../src/model/model.ts';
import { SEED_SPECS, bundledSpec } from '../src/model/spec.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const GENERATED_DIR = path.join(ROOT, 'generated');
export const SEED_ARTIFACTS: readonly string[] = Object.keys(SEED_SPECS);

/** The artifact of seed spec `name`, in memory, as it belongs in generated/<name>/. */
export function seedArtifact(name: string): Artifact {
  const specFile = bundledSpec(name);
  return buildArtifact(lowerSpec(specFile), { specFile });
}

/** Every file under `dir`, as '/'-separated paths relative to it. */
export function listFiles(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

function main(): void {
  for (const name of SEED_ARTIFACTS) {
    const dir = path.join(GENERATED_DIR, name);
    const artifact = seedArtifact(name);
    // generated/ holds only what the generator writes: anything else there is left over, and
    // goes with the directory (replaced whole, as rhc compile replaces it).
    const { bytes } = writeArtifact(dir, artifact, { force: true });
    const m = artifact.manifest;
    process.stdout.write(`${path.relative(ROOT, dir)}/: ${m.kernels.length} kernels, ${(bytes / 1024).toFixed(0)} KiB${m.constantsBytes ? ` (constants ${(m.constantsBytes / 1024).toFixed(0)} KiB)` : ''}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) main();
