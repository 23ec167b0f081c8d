// The hostile suite's harness: what a probe is, how it runs in a temp tree of its own, and how
// its outcome is classified. The classes, worst first:
// - crash: exit 70 / "internal error", a signal, a stack trace (`^\s+at `) in the output, a
//   timeout (a hang) or the memory watchdog;
// - silent wrong: exit 0 where the probe says the input is bad, or numbers that differ from an
//   independent expectation;
// - clobbered: a file that was in the probe's tree before the command (hashed) changed or
//   vanished although the command was not allowed to write it;
// - unclear: none of those, but not what the probe expects either (an exit status outside the
//   allowed ones, an error that does not name what it should, an error that is not one line).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { snapshot } from './formats.ts';
import type { RunResult, ServerPool } from './runner.ts';

export const FAMILIES = ['spec', 'checkpoint', 'interrupt', 'concurrent', 'clobber'] as const;
export type Family = (typeof FAMILIES)[number];
export const CLASSES = ['crash', 'silent-wrong', 'clobbered', 'unclear'] as const;
export type ProblemClass = (typeof CLASSES)[number];

export interface Problem {
  class: ProblemClass;
  detail: string;
}

export interface Expect {
  /** the exit statuses allowed */
  exit: readonly number[];
  /** an error (exit != 0) must match this: it names the file, key, tensor or flag */
  stderr?: RegExp;
  /** and must not match this (a "NaN" where a value was meant) */
  notStderr?: RegExp;
  /** on exit 0: checks of what was written; returns what is wrong (a silent wrong result) */
  output?: (dir: string, r: RunResult) => string | undefined | Promise<string | undefined>;
}

export interface Context {
  pool: ServerPool;
  /** where shared fixtures (tiny specs, checkpoints) live */
  fixtures: string;
}

export interface Probe {
  family: Family;
  name: string;
  /** fills the probe's own empty directory */
  setup?: (dir: string, ctx: Context) => void | Promise<void>;
  /** the command line, run in the probe server with the probe's directory as cwd */
  args?: (dir: string) => string[];
  expect?: Expect;
  /** paths (relative to the probe's directory) the command may create, change or remove; a string also covers what is under it */
  writes?: readonly (string | RegExp)[];
  timeoutMs?: number;
  /** a probe that runs processes itself (kills, races) and judges them itself; its tree is still checked for clobbering */
  custom?: (dir: string, ctx: Context) => Promise<{ problems: Problem[]; detail: string }>;
}

export interface Outcome {
  family: Family;
  name: string;
  problems: Problem[];
  /** the command's output, for the failure listing */
  detail: string;
  /** the command's exit status (custom probes: none) */
  exit?: number | null;
  ms: number;
  /** the probe's own directory */
  dir: string;
}

/** A user-facing error: a diagnostic with a location, or one `error:` line. */
const CLEAR_ERROR = /^(error: \S.*|\S.*:\d+:\d+: error: \S.*)$/m;
const STACK = /^\s+at .+(\(|:\d+:\d+)/m;

export function crashOf(r: RunResult): string | undefined {
  if (r.hang) return `timed out after ${Math.round(r.ms)} ms (a hang)`;
  if (r.memory) return `memory exhausted (watchdog or allocation failure)`;
  if (r.signal) return `ended by ${r.signal}`;
  if (r.code === 70) return 'exit 70 (internal error)';
  if (r.code === null) return 'no exit status';
  const all = r.stdout + r.stderr;
  if (/internal error/i.test(all)) return '"internal error" in the output';
  if (STACK.test(all)) return 'a stack trace in the output';
  return undefined;
}

/** Classifies one command's result against the probe's expectation (not its output, not the file tree). */
export function judge(r: RunResult, expect: Expect): Problem[] {
  const crash = crashOf(r);
  if (crash) return [{ class: 'crash', detail: crash }];
  const code = r.code!;
  if (!expect.exit.includes(code)) {
    if (code === 0) return [{ class: 'silent-wrong', detail: `exit 0, but the input is bad (expected exit ${expect.exit.join(' or ')})` }];
    return [{ class: 'unclear', detail: `exit ${code}, expected ${expect.exit.join(' or ')}` }];
  }
  if (code === 0) return [];
  const problems: Problem[] = [];
  if (!CLEAR_ERROR.test(r.stderr)) problems.push({ class: 'unclear', detail: 'the failure is neither a located diagnostic nor an `error:` line' });
  else if (expect.stderr && !expect.stderr.test(r.stderr)) problems.push({ class: 'unclear', detail: `the error does not match ${expect.stderr}` });
  if (expect.notStderr?.test(r.stderr)) problems.push({ class: 'unclear', detail: `the error matches ${expect.notStderr}` });
  return problems;
}

function allowed(rel: string, writes: readonly (string | RegExp)[]): boolean {
  return writes.some((w) => (typeof w === 'string' ? rel === w || rel.startsWith(w + '/') : w.test(rel)));
}

/** Files of `before` that changed or vanished without being allowed writes. */
export function clobbered(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>, writes: readonly (string | RegExp)[]): string[] {
  const out: string[] = [];
  for (const [rel, fp] of before) {
    if (allowed(rel, writes)) continue;
    const now = after.get(rel);
    if (now === undefined) out.push(`${rel} vanished`);
    else if (now !== fp) out.push(`${rel} changed`);
  }
  return out;
}

function tail(text: string, n = 1500): string {
  return text.length > n ? '…' + text.slice(-n) : text;
}

export function describeRun(args: readonly string[], r: RunResult): string {
  return `$ rhc ${args.map((a) => (a.length > 80 ? a.slice(0, 60) + `…(${a.length} chars)` : a)).join(' ')}\n-> exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.hang ? ' (timeout)' : ''} in ${Math.round(r.ms)} ms\nstdout: ${tail(r.stdout.trim(), 600)}\nstderr: ${tail(r.stderr.trim())}`;
}

export async function runProbe(probe: Probe, root: string, index: number, ctx: Context): Promise<Outcome> {
  const t0 = performance.now();
  const dir = path.join(root, `${probe.family}-${String(index).padStart(3, '0')}`);
  fs.mkdirSync(dir);
  const outcome = (problems: Problem[], detail: string, exit?: number | null): Outcome => ({ family: probe.family, name: probe.name, problems, detail, exit, ms: performance.now() - t0, dir });
  try {
    await probe.setup?.(dir, ctx);
  } catch (e) {
    throw new Error(`hostile: setup of probe '${probe.name}' failed: ${(e as Error).stack}`);
  }
  const before = snapshot(dir);
  let problems: Problem[];
  let detail: string;
  let exit: number | null | undefined;
  if (probe.custom) {
    ({ problems, detail } = await probe.custom(dir, ctx));
  } else {
    const args = probe.args!(dir);
    const r = await ctx.pool.run(args, dir, probe.timeoutMs);
    problems = judge(r, probe.expect!);
    const wrong = problems.length === 0 && r.code === 0 ? await probe.expect!.output?.(dir, r) : undefined;
    if (wrong) problems.push({ class: 'silent-wrong', detail: wrong });
    detail = describeRun(args, r);
    exit = r.code;
  }
  const lost = clobbered(before, snapshot(dir), probe.writes ?? []);
  if (lost.length > 0) problems.push({ class: 'clobbered', detail: lost.slice(0, 8).join(', ') });
  return outcome(problems, detail, exit);
}

export interface Summary {
  probes: number;
  counts: Record<ProblemClass, number>;
  families: Record<string, { probes: number } & Record<ProblemClass, number>>;
  seconds: number;
  failures: { family: Family; name: string; problems: Problem[]; detail: string }[];
  /** every probe: its exit status (when it ran one command) and time */
  results: { family: Family; name: string; exit?: number | null; note?: string; ms: number; ok: boolean }[];
}

export function summarise(outcomes: readonly Outcome[], seconds: number): Summary {
  const zero = () => Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<ProblemClass, number>;
  const counts = zero();
  const families: Summary['families'] = {};
  for (const o of outcomes) {
    const f = (families[o.family] ??= { probes: 0, ...zero() });
    f.probes++;
    for (const c of new Set(o.problems.map((p) => p.class))) {
      counts[c]++;
      f[c]++;
    }
  }
  const failures = outcomes.filter((o) => o.problems.length > 0).map(({ family, name, problems, detail }) => ({ family, name, problems, detail }));
  // a probe that ran processes itself says in its first line what happened (killed, finished first)
  const note = (o: Outcome) => (o.exit === undefined ? o.detail.split('\n')[0] : undefined);
  const results = outcomes.map((o) => ({ family: o.family, name: o.name, exit: o.exit, note: note(o), ms: Math.round(o.ms), ok: o.problems.length === 0 }));
  return { probes: outcomes.length, counts, families, seconds, failures, results };
}

export function formatTable(s: Summary): string {
  const rows = [['family', 'probes', ...CLASSES], ...Object.entries(s.families).map(([f, c]) => [f, String(c.probes), ...CLASSES.map((k) => String(c[k]))])];
  rows.push(['all', String(s.probes), ...CLASSES.map((k) => String(s.counts[k]))]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `hostile-input suite: probes ${s.probes}, crashes ${s.counts.crash}, silent wrong ${s.counts['silent-wrong']}, clobbered ${s.counts.clobbered}, unclear ${s.counts.unclear} (${s.seconds.toFixed(0)} s)`,
    ...rows.map(line),
  ].join('\n');
}

export function formatFailures(s: Summary): string {
  return s.failures
    .map((f) => `--- [${f.family}] ${f.name}: ${f.problems.map((p) => `${p.class}: ${p.detail}`).join('; ')}\n${f.detail}`)
    .join('\n');
}

/** Runs probes `concurrency` at a time, in order; returns their outcomes in order. */
export async function runAll(probes: readonly Probe[], root: string, ctx: Context, concurrency: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(probes.length);
  let next = 0;
  const lane = async () => {
    while (next < probes.length) {
      const i = next++;
      outcomes[i] = await runProbe(probes[i], root, i, ctx);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return outcomes;
}

export function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-hostile-'));
}
