// The bench's verdicts (bench/targets.ts) for a run of only some sections: a target whose
// section did not run is n/a, saying which section, never a pass or a made-up reason.

import { describe, expect, it } from 'vitest';
import { judgeTargets } from '../../bench/targets.ts';
import type { BenchResult } from '../../bench/report.ts';

/** A run in which only the training section ran, at a step 2.9x its forward. */
const trainingOnly = {
  levels: ['-O0', '-O1', '-O2'],
  defaultLevel: '-O2',
  plans: [],
  runs: [],
  prefillTokens: 128,
  host: { adapter: 'SwiftShader Device (Subzero)' },
  training: { model: 'tiny', ratio: 2.9 },
} as unknown as Omit<BenchResult, 'targets'>;

describe('bench targets', () => {
  const targets = judgeTargets(trainingOnly);
  const named = (prefix: string) => targets.find((t) => t.name.startsWith(prefix));

  it('judges what ran: the training step against its forward', () => {
    expect(named('tiny: training step / forward')).toMatchObject({ measured: '2.90x', status: 'pass' });
  });

  it('says which section did not run instead of blaming the compiler', () => {
    expect(named('bytes moved')).toMatchObject({ status: 'n/a', note: 'no plan was counted (the plans section did not run)' });
    expect(named('start-up: rhc version')).toMatchObject({ status: 'n/a', note: 'the startup section did not run' });
    expect(named('compile')).toMatchObject({ status: 'n/a', note: 'compile time was not measured' });
  });
});
