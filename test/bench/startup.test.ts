// The bench's startup section (bench/startup.ts): which entry point it times (the built CLI, or the
// sources through tsx, said so), that it really runs and checks the commands, and how its targets
// are judged and shown.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_MAIN, startupEntry, startupTimes, type StartupTimes } from '../../bench/startup.ts';
import { judgeTargets } from '../../bench/targets.ts';
import { renderReport, type BenchResult } from '../../bench/report.ts';
import { ROOT, tempDir } from '../helpers/rh.ts';

function fakeRoot(files: Record<string, number>): string {
  const root = tempDir();
  for (const [file, mtimeSeconds] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), '');
    fs.utimesSync(path.join(root, file), mtimeSeconds, mtimeSeconds);
  }
  return root;
}

const sample = (median: number) => ({ ms: [median, median, median], median, warmup: 1 });

function withStartup(startup: StartupTimes): Omit<BenchResult, 'targets'> {
  return { format: 'rhc-bench', version: 1, startedAt: 't', finishedAt: 't', options: {}, host: { adapter: 'none' }, levels: [], defaultLevel: '-O2', prefillTokens: 128, contexts: [], plans: [], runs: [], startup };
}

describe('startup entry', () => {
  it('times the bin over dist/ when it is built, the sources through tsx when not, and says which', () => {
    const built = startupEntry(fakeRoot({ [DIST_MAIN]: 2000, 'src/cli/main.ts': 1000 }));
    expect(built).toEqual({ kind: 'dist', nodeArgs: ['bin/rhc.js'], label: `node bin/rhc.js (${DIST_MAIN})` });
    const stale = startupEntry(fakeRoot({ [DIST_MAIN]: 1000, 'src/cli/main.ts': 2000 }));
    expect(stale.kind).toBe('dist');
    expect(stale.note).toMatch(/older than src\/: run npm run build/);
    const none = startupEntry(fakeRoot({ 'src/cli/main.ts': 1000 }));
    expect(none).toMatchObject({ kind: 'tsx', nodeArgs: ['--import', 'tsx', 'src/cli/main.ts'] });
    expect(none.note).toContain(`${DIST_MAIN} is missing`);
    expect(startupEntry(ROOT, 'src/cli/main.ts')).toMatchObject({ kind: 'tsx', nodeArgs: ['--import', 'tsx', 'src/cli/main.ts'] });
  });
});

describe('startup times', () => {
  it('runs each command as a child process and checks what it printed', () => {
    const entry = startupEntry(ROOT, 'src/cli/main.ts');
    const t = startupTimes(ROOT, entry, { warmup: 0, repeats: 2 }, ['node', 'version']);
    expect(t.commands.map((c) => [c.id, c.command, c.ms.ms.length])).toEqual([
      ['node', 'node -e 0', 2],
      ['version', 'rhc --version', 2],
    ]);
    for (const c of t.commands) expect(c.ms.median).toBeGreaterThan(0);
    // an entry that does not run rhc stops the section, naming the command
    expect(() => startupTimes(ROOT, { kind: 'given', nodeArgs: ['-e', 'process.exit(3)', '--'], label: 'x' }, { warmup: 0, repeats: 1 }, ['version'])).toThrow(/rhc --version .*exited with 3/);
  });

  it('judges the targets in seconds, flags a tsx measurement, and tables medians beside node -e 0', () => {
    const commands = [
      { id: 'node' as const, command: 'node -e 0', ms: sample(40) },
      { id: 'version' as const, command: 'rhc --version', ms: sample(100) },
      { id: 'check' as const, command: 'rhc check spec/gp-norm.rh', ms: sample(700) },
    ];
    const dist = withStartup({ entry: { kind: 'dist', nodeArgs: ['bin/rhc.js'], label: 'node bin/rhc.js' }, spec: 'spec/gp-norm.rh', commands, load: [0.5, 0.6] });
    const targets = judgeTargets(dist).filter((t) => t.name.startsWith('start-up'));
    expect(targets.map((t) => [t.name, t.measured, t.target, t.status])).toEqual([
      ['start-up: rhc --version', '0.100 s', '<= 0.25 s', 'pass'],
      ['start-up: rhc check spec/gp-norm.rh', '0.700 s', '<= 0.6 s', 'miss'],
      ['start-up: rhc compile', '-', '<= 1.5 s', 'n/a'],
    ]);
    const tsx = judgeTargets({ ...dist, startup: { ...dist.startup!, entry: { kind: 'tsx', nodeArgs: [], label: 'tsx' } } }).filter((t) => t.name.startsWith('start-up'));
    expect(tsx[0].name).toContain('through tsx');
    expect(tsx[0].note).toContain('npm run build');
    const report = renderReport({ ...dist, targets });
    expect(report).toMatch(/\| rhc --version +\| +100 \| +- \| +2\.50 \| +250 \|/);
    expect(report).toContain('rhc is node bin/rhc.js');
  });
});
