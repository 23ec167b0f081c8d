// The hostile-input catalogue: every probe of every family, in a fixed order (the mutants are
// seeded, so a run is the same on every machine).

import type { Family, Probe } from './harness.ts';
import { specProbes } from './probes-spec.ts';
import { checkpointProbes } from './probes-checkpoint.ts';
import { writeProbes } from './probes-writes.ts';

export function allProbes(): Probe[] {
  return [...specProbes(), ...checkpointProbes(), ...writeProbes()];
}

/** The probes of the families named (all when none are). */
export function probesOf(families: readonly Family[]): Probe[] {
  const all = allProbes();
  return families.length === 0 ? all : all.filter((p) => families.includes(p.family));
}
