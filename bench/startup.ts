// Start-up of the `rhc` command line as a user meets it: `--version`, `check` and `compile
// --target webgpu` of spec/gp-norm.rh (GPT-2 medium's dims, its defaults), each run as a fresh
// child process and timed wall-clock, with `node -e 0` (Node's own start-up) as the peer. The
// compiled CLI (dist/, `npm run build`), through the package's bin as `npx rhc` runs it, is what
// is timed when it exists; without it the sources run through tsx, and every table and target
// says so (tsx transpiles at each start: ~1 s more).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median, type Sample } from './stats.ts';

/** Where the compiled CLI's entry point lands (tsconfig.build.json), which bin/rhc.js runs. */
export const DIST_MAIN = 'dist/src/cli/main.js';
const BIN = 'bin/rhc.js';
const SOURCE_MAIN = 'src/cli/main.ts';

export interface StartupEntry {
  /** dist: the compiled CLI; tsx: the sources, transpiled at each start; given: --rhc FILE */
  kind: 'dist' | 'tsx' | 'given';
  /** node's arguments before rhc's own */
  nodeArgs: string[];
  /** how the tables name it */
  label: string;
  /** why this entry (dist/ missing, or older than the sources) */
  note?: string;
}

/** The newest modification time of the files under `dir` (0 when there are none). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** The compiled CLI when `root` has one, else the sources through tsx; `given` (--rhc) wins. */
export function startupEntry(root: string, given?: string): StartupEntry {
  if (given !== undefined) {
    const rel = path.relative(root, path.resolve(root, given)) || given;
    return given.endsWith('.ts') ? { kind: 'tsx', nodeArgs: ['--import', 'tsx', rel], label: `node --import tsx ${rel}`, note: 'through tsx, as --rhc asked' } : { kind: 'given', nodeArgs: [rel], label: `node ${rel}` };
  }
  const dist = path.join(root, DIST_MAIN);
  if (fs.existsSync(dist)) {
    const stale = fs.existsSync(path.join(root, 'src')) && newestMtime(path.join(root, 'src')) > fs.statSync(dist).mtimeMs;
    return { kind: 'dist', nodeArgs: [BIN], label: `node ${BIN} (${DIST_MAIN})`, ...(stale ? { note: 'dist/ is older than src/: run npm run build to time the current sources' } : {}) };
  }
  return { kind: 'tsx', nodeArgs: ['--import', 'tsx', SOURCE_MAIN], label: `node --import tsx ${SOURCE_MAIN}`, note: `${DIST_MAIN} is missing (run npm run build): timed through tsx, which transpiles at every start` };
}

export type StartupId = 'node' | 'version' | 'check' | 'compile';

export interface StartupCommand {
  id: StartupId;
  /** the command line, as a user would type it (rhc for the entry) */
  command: string;
  ms: Sample;
}

export interface StartupTimes {
  entry: StartupEntry;
  spec: string;
  commands: StartupCommand[];
  /** the 1-minute load average before and after (above the CPU count: others shared the machine) */
  load: [number, number];
}

interface Planned {
  id: StartupId;
  command: string;
  argv: string[];
  /** what a successful run prints on stdout */
  expect: RegExp;
}

function plan(entry: StartupEntry, spec: string, outDir: string, ids: readonly StartupId[]): Planned[] {
  const rhc = (args: string[], expect: RegExp, id: StartupId): Planned => ({ id, command: `rhc ${args.join(' ')}`, argv: [...entry.nodeArgs, ...args], expect });
  const all: Planned[] = [
    { id: 'node', command: 'node -e 0', argv: ['-e', '0'], expect: /^$/ },
    rhc(['--version'], /^\d+\.\d+\.\d+/, 'version'),
    rhc(['check', spec], /: ok$/m, 'check'),
    // The artifact goes to a directory of the bench's own; each run replaces the last one's.
    { ...rhc(['compile', spec, '--target', 'webgpu'], /^wrote /, 'compile'), argv: [...entry.nodeArgs, 'compile', spec, '--target', 'webgpu', '-o', path.join(outDir, 'artifact')] },
  ];
  return all.filter((p) => ids.includes(p.id));
}

/**
 * Each command `warmup + repeats` times, in rounds (one of each per round, so a change in the
 * machine's load falls on all of them alike); medians of the timed rounds. A run that fails or
 * prints something else stops the section with its stderr.
 */
export function startupTimes(root: string, entry: StartupEntry, r: { warmup: number; repeats: number }, ids: readonly StartupId[] = ['node', 'version', 'check', 'compile']): StartupTimes {
  const spec = 'spec/gp-norm.rh';
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-bench-startup-'));
  const before = os.loadavg()[0];
  // The bench runs under tsx, whose loader (NODE_OPTIONS) must not ride along into the children;
  // RHC_FROM_SOURCE would send bin/rhc.js to the sources.
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env.RHC_FROM_SOURCE;
  try {
    const planned = plan(entry, spec, outDir, ids);
    const times = planned.map(() => [] as number[]);
    const first: (number | undefined)[] = planned.map(() => undefined);
    for (let round = 0; round < r.warmup + r.repeats; round++) {
      planned.forEach((p, i) => {
        const t = performance.now();
        const res = spawnSync(process.execPath, p.argv, { cwd: root, encoding: 'utf8', env });
        const dt = performance.now() - t;
        if (res.status !== 0 || !p.expect.test(res.stdout.trim()))
          throw new Error(`${p.command} (${['node', ...p.argv].join(' ')}) exited with ${res.status}: ${(res.stderr || res.stdout).trim().split('\n')[0]}`);
        if (round < r.warmup) first[i] ??= dt;
        else times[i].push(dt);
      });
    }
    const commands = planned.map((p, i) => ({ id: p.id, command: p.command, ms: { ms: times[i], median: median(times[i]), warmup: r.warmup, ...(first[i] !== undefined ? { firstMs: first[i] } : {}) } }));
    return { entry, spec, commands, load: [before, os.loadavg()[0]] };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

/** Issue 10's start-up targets, in seconds of wall clock. */
export const STARTUP_TARGETS: Readonly<Partial<Record<StartupId, number>>> = { version: 0.25, check: 0.6, compile: 1.5 };
