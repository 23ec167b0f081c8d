// Compile time by phase, in this process (after warm-up: the JIT and the module graph are
// warm, as in a long-lived tool or a watch mode), with Node's own start-up and `rhc --version`
// measured apart as child processes: what a one-shot `rhc compile` pays on top.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePhases, type OptLevel } from './rhc-api.ts';
import { specFile, type ModelDef } from './models.ts';
import { median, sample, type Repeats, type Sample } from './stats.ts';

export interface StartupTimes {
  /** `node -e 0` */
  node: Sample;
  /** `rhc --version`, as the command line given */
  rhcVersion: Sample;
  rhcCommand: string;
}

function timeChild(cmd: string, args: string[], r: Repeats): Sample {
  const ms: number[] = [];
  let first: number | undefined;
  for (let i = 0; i < r.warmup + r.repeats; i++) {
    const t = performance.now();
    const res = spawnSync(cmd, args, { stdio: 'pipe' });
    const dt = performance.now() - t;
    if (res.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited with ${res.status}: ${String(res.stderr).trim().split('\n')[0]}`);
    if (i < r.warmup) first ??= dt;
    else ms.push(dt);
  }
  return sample(ms, r.warmup, first);
}

export function startupTimes(rhc: string[], r: Repeats): StartupTimes {
  return { node: timeChild(process.execPath, ['-e', '0'], r), rhcVersion: timeChild(process.execPath, [...rhc, '--version'], r), rhcCommand: `node ${rhc.map((a) => path.relative(process.cwd(), a) || a).join(' ')} --version` };
}

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
