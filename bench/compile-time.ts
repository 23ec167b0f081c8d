// Compile time by phase, in this process (after warm-up: the JIT and the module graph are
// warm, as in a long-lived tool or a watch mode). What a one-shot `rhc compile` pays on top,
// start-up included, is the startup section's (startup.ts).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePhases, type OptLevel } from './rhc-api.ts';
import { specFile, type ModelDef } from './models.ts';
import { median, sample, type Repeats, type Sample } from './stats.ts';

export interface LevelCompile {
  level: OptLevel;
  phases: { phase: string; ms: Sample }[];
  /** parse to WGSL in one block */
  endToEnd: Sample;
  dispatches: number;
}

export function compileTimes(def: ModelDef, level: OptLevel, r: Repeats): LevelCompile {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-bench-compile-'));
  try {
    const runs = Array.from({ length: r.warmup + r.repeats }, () => compilePhases(specFile(def), def.dims, level, path.join(out, 'artifact')));
    const timed = runs.slice(r.warmup);
    const names = runs[0].phases.map((p) => p.phase);
    const phases = names.map((phase, i) => {
      const ms = timed.map((x) => x.phases[i].ms);
      return { phase, ms: { ms, median: median(ms), warmup: r.warmup, firstMs: runs[0].phases[i].ms } };
    });
    const e2e = timed.map((x) => x.endToEnd);
    return { level, phases, endToEnd: sample(e2e, r.warmup, runs[0].endToEnd), dispatches: runs[0].dispatches };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
