// Writes under attack: a write killed part-way (SIGKILL at several moments, over an earlier
// good output), two writers racing for one output, and outputs aimed at the user's own files.
// A killed or raced write must leave the earlier output intact or the new one complete, byte
// for byte as an undisturbed run writes it; a later run must then succeed (stale locks and
// temp files of a killed rhc are taken over). An output must never replace an input of the
// same command, nor a file rhc did not write.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { crashOf, describeRun, judge, type Context, type Expect, type Probe, type Problem } from './harness.ts';
import { forgeCheckpoint, IDS_ARG, writeTinySpecs } from './fixtures.ts';
import { fileHashes, hashDiff, sameHashes, sha256 } from './formats.ts';
import { startRhc, type RunResult } from './runner.ts';

// ------------------------------------------------------------------ the writers

interface Writer {
  name: string;
  /** the output, relative to the probe's directory (which holds spec/, the tiny seed specs) */
  out: string;
  /** writes the earlier, good output */
  old: string[];
  /** writes the new one: bigger, so that its write takes long enough to be interrupted */
  new: string[];
}

const WRITERS: readonly Writer[] = [
  {
    name: 'init-weights',
    out: 'ck',
    old: ['init-weights', 'spec/gp-norm.rh', '--out', 'ck', '--seed', '1'],
    new: ['init-weights', 'spec/gp-norm.rh', '--out', 'ck', '--seed', '2', '--set', 'n_embd=64', '--set', 'n_layer=2', '--set', 'vocab_size=8192', '--set', 'n_positions=256'],
  },
  {
    name: 'compile --target webgpu',
    out: 'art',
    old: ['compile', 'spec/gp.rh', '--target', 'webgpu', '-o', 'art'],
    new: ['compile', 'spec/gp.rh', '--target', 'webgpu', '-o', 'art', '--set', 'n_embd=64', '--set', 'n_layer=4', '--set', 'n_positions=1024'],
  },
  {
    name: 'compile --target onnx',
    out: 'm.onnx',
    old: ['compile', 'spec/gp.rh', '--target', 'onnx', '-o', 'm.onnx'],
    // ~14 MB, so that the file's write lasts long enough for a kill to land inside it
    new: ['compile', 'spec/gp.rh', '--target', 'onnx', '-o', 'm.onnx', '--seed', '3', '--set', 'n_embd=256', '--set', 'n_layer=2', '--set', 'vocab_size=8192'],
  },
];

/** The regular files of an output (a directory's files, or the file itself), relative path -> sha256. */
function outputHashes(dir: string, out: string): Map<string, string> {
  const p = path.join(dir, out);
  if (!fs.existsSync(p)) return new Map();
  if (fs.statSync(p).isDirectory()) return fileHashes(p);
  return new Map([['', sha256(fs.readFileSync(p))]]);
}

const siblings = (out: string) => new RegExp(`^\\.${out.replace(/\./g, '\\.')}\\.rhc-`);

interface Reference {
  /** a copy of the old output, to lay into each probe's directory */
  oldCopy: string;
  old: Map<string, string>;
  new: Map<string, string>;
  /** the new command's wall time undisturbed, as a child process */
  ms: number;
  /** the new command line (with --force when the writer asks for it over its own earlier output) */
  args: string[];
}

const references = new Map<string, Promise<Reference>>();

/** Old and new outputs of a writer, each made once, undisturbed, in a directory of its own. */
function reference(w: Writer, ctx: Context): Promise<Reference> {
  let p = references.get(w.name);
  if (!p) {
    p = (async () => {
      const dir = path.join(ctx.fixtures, `ref-${w.out}`);
      writeTinySpecs(path.join(dir, 'spec'));
      const old = await ctx.pool.run(w.old, dir, 60_000);
      if (old.code !== 0) throw new Error(`the earlier output could not be written:\n${describeRun(w.old, old)}`);
      const oldCopy = path.join(ctx.fixtures, `old-${w.out}`);
      fs.cpSync(path.join(dir, w.out), path.join(oldCopy, w.out), { recursive: true });
      let args = w.new;
      let r = await startRhc(args, dir, 60_000).done;
      if (r.code !== 0 && /--force/.test(r.stderr)) r = await startRhc((args = [...w.new, '--force']), dir, 60_000).done;
      if (r.code !== 0) throw new Error(`the new output could not be written over the old one:\n${describeRun(args, r)}`);
      return { oldCopy, old: outputHashes(oldCopy, w.out), new: outputHashes(dir, w.out), ms: r.ms, args };
    })();
    references.set(w.name, p);
  }
  return p;
}

async function layOld(w: Writer, dir: string, ctx: Context): Promise<Reference> {
  const ref = await reference(w, ctx);
  writeTinySpecs(path.join(dir, 'spec'));
  fs.cpSync(path.join(ref.oldCopy, w.out), path.join(dir, w.out), { recursive: true });
  return ref;
}

/** The output is the old one or the new one, whole; anything else is a clobbered output. */
function wholeOutput(dir: string, w: Writer, allowed: { label: string; hashes: Map<string, string> }[]): Problem[] {
  const got = outputHashes(dir, w.out);
  if (allowed.some((a) => sameHashes(got, a.hashes))) return [];
  const diffs = allowed.map((a) => `vs ${a.label}: ${hashDiff(got, a.hashes)}`).join('; ');
  return [{ class: 'clobbered', detail: `${w.out} is neither ${allowed.map((a) => a.label).join(' nor ')} (${diffs})` }];
}

/** Litter under final names: files in the probe's directory that are neither inputs, the output, nor hidden temporaries. */
function litter(dir: string, w: Writer): Problem[] {
  const extra = fs.readdirSync(dir).filter((n) => n !== 'spec' && n !== w.out && !siblings(w.out).test(n));
  return extra.length ? [{ class: 'unclear', detail: `left ${extra.join(', ')} beside the output` }] : [];
}

/** A run's problems other than ending by our own kill. */
function unkilled(r: RunResult, killed: boolean): Problem[] {
  if (killed && r.signal === 'SIGKILL') return [];
  return judge(r, { exit: [0, 1] });
}

// ------------------------------------------------------------------ interrupted writes

type Moment = { kind: 'event'; n: number } | { kind: 'time'; fraction: number };
const MOMENTS: readonly Moment[] = [
  { kind: 'event', n: 1 },
  { kind: 'event', n: 3 },
  { kind: 'event', n: 8 },
  { kind: 'time', fraction: 0.6 },
  { kind: 'time', fraction: 0.85 },
  { kind: 'time', fraction: 0.95 },
];

/**
 * Runs `act` on the child at `moment`: after the n-th change the file system reports in the
 * output's directory, its parent or its kernels/ (a write under way), or at a fraction of the
 * undisturbed run's time. Nothing happens once the child has ended.
 */
function atMoment(child: ReturnType<typeof startRhc>, dir: string, w: Writer, moment: Moment, ms: number, act: () => void): { fired: () => boolean; stop: () => void } {
  let fired = false;
  const fire = () => {
    if (!fired && child.child.exitCode === null && child.child.signalCode === null) {
      fired = true;
      act();
    }
  };
  const watchers: fs.FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  if (moment.kind === 'time') timer = setTimeout(fire, ms * moment.fraction);
  else {
    let events = 0;
    const onEvent = () => {
      if (++events === moment.n) fire();
    };
    for (const d of [dir, path.join(dir, w.out), path.join(dir, w.out, 'kernels')]) {
      if (fs.existsSync(d) && fs.statSync(d).isDirectory()) watchers.push(fs.watch(d, onEvent));
    }
  }
  return {
    fired: () => fired,
    stop: () => {
      clearTimeout(timer);
      for (const wa of watchers) wa.close();
    },
  };
}

function interruptProbe(w: Writer, moment: Moment): Probe {
  const when = moment.kind === 'event' ? `at file-system event ${moment.n}` : `at ${moment.fraction} of its run time`;
  return {
    family: 'interrupt',
    name: `${w.name} over an earlier output, killed ${when}`,
    writes: [w.out, siblings(w.out)],
    custom: async (dir, ctx) => {
      const ref = await layOld(w, dir, ctx);
      const child = startRhc(ref.args, dir, 60_000);
      const k = atMoment(child, dir, w, moment, ref.ms, () => child.child.kill('SIGKILL'));
      const r = await child.done;
      k.stop();
      const problems = [...unkilled(r, k.fired()), ...wholeOutput(dir, w, [{ label: 'the old output', hashes: ref.old }, { label: 'the new output', hashes: ref.new }]), ...litter(dir, w)];
      // the next run must succeed: a killed rhc's lock and temporaries are stale, not in the way
      const again = await ctx.pool.run(ref.args, dir, 60_000);
      const crash = crashOf(again);
      if (crash) problems.push({ class: 'crash', detail: `the run after the kill: ${crash}` });
      else if (again.code !== 0) problems.push({ class: 'unclear', detail: `the run after the kill failed (exit ${again.code}): ${again.stderr.trim().split('\n')[0]}` });
      else problems.push(...wholeOutput(dir, w, [{ label: 'the new output (after a rerun)', hashes: ref.new }]));
      return { problems, detail: `${k.fired() ? 'killed' : 'finished before the kill'}\n${describeRun(ref.args, r)}\nrerun:\n${describeRun(ref.args, again)}` };
    },
  };
}

// ------------------------------------------------------------------ concurrent writers

const raceReferences = new Map<string, Promise<Map<string, string>>>();

/** The output `args` write undisturbed over the old one (in the probe server, in a directory of its own). */
function raceReference(w: Writer, label: string, args: string[], ctx: Context): Promise<Map<string, string>> {
  const key = `${w.name}/${label}`;
  let p = raceReferences.get(key);
  if (!p) {
    p = (async () => {
      const dir = path.join(ctx.fixtures, `race-${w.out}-${label}`);
      await layOld(w, dir, ctx);
      const r = await ctx.pool.run(args, dir, 60_000);
      if (r.code !== 0) throw new Error(`${label} could not be written undisturbed:\n${describeRun(args, r)}`);
      return outputHashes(dir, w.out);
    })();
    raceReferences.set(key, p);
  }
  return p;
}

/**
 * Two writers A (the big new output) and B (a small one) into one output. `together`: both
 * started at once (their writes rarely overlap, a write lasts milliseconds); otherwise A is
 * frozen (SIGSTOP) at `moment`, in the middle of its write, while B runs to its end, then
 * thawed: B must fail clearly (A holds the output) or the two must not mix.
 */
function raceProbe(w: Writer, moment: Moment | 'together'): Probe {
  const how = moment === 'together' ? 'started together' : `A frozen at file-system event ${(moment as { n: number }).n} while B runs`;
  return {
    family: 'concurrent',
    name: `two ${w.name} into one output at once (${how})`,
    writes: [w.out, siblings(w.out)],
    custom: async (dir, ctx) => {
      const ref = await layOld(w, dir, ctx);
      const force = ref.args.includes('--force') ? ['--force'] : [];
      const a = ref.args;
      const b = [...w.old, '--set', 'n_layer=2', ...force];
      const [refA, refB] = await Promise.all([raceReference(w, 'a', a, ctx), raceReference(w, 'b', b, ctx)]);
      let ra: RunResult;
      let rb: RunResult;
      let note = '';
      if (moment === 'together') {
        [ra, rb] = await Promise.all([startRhc(a, dir, 60_000).done, startRhc(b, dir, 60_000).done]);
      } else {
        const childA = startRhc(a, dir, 120_000);
        let frozen: () => void = () => {};
        const wasFrozen = new Promise<void>((resolve) => (frozen = resolve));
        const m = atMoment(childA, dir, w, moment, ref.ms, () => {
          childA.child.kill('SIGSTOP');
          frozen();
        });
        await Promise.race([wasFrozen, childA.done]);
        m.stop();
        note = m.fired() ? 'A frozen, B ran, A thawed' : 'A finished before the moment; B ran after it';
        rb = await startRhc(b, dir, 60_000).done;
        if (m.fired()) childA.child.kill('SIGCONT');
        ra = await childA.done;
      }
      const problems = [...judge(ra, { exit: [0, 1] }), ...judge(rb, { exit: [0, 1] })];
      const winners = [
        ...(ra.code === 0 ? [{ label: "writer A's output", hashes: refA }] : []),
        ...(rb.code === 0 ? [{ label: "writer B's output", hashes: refB }] : []),
      ];
      problems.push(...wholeOutput(dir, w, winners.length ? winners : [{ label: 'the old output (both failed)', hashes: ref.old }]), ...litter(dir, w));
      return { problems, detail: `${note || 'started together'}\nA:\n${describeRun(a, ra)}\nB:\n${describeRun(b, rb)}` };
    },
  };
}

// ------------------------------------------------------------------ outputs over the user's files

function clobberProbe(name: string, setup: (dir: string, ctx: Context) => void | Promise<void>, args: (dir: string) => string[], expect: Expect, writes: (string | RegExp)[] = []): Probe {
  return { family: 'clobber', name, setup, args, expect, writes, timeoutMs: 30_000 };
}

const REFUSE: Expect = { exit: [1, 2], stderr: /--force|input|overwrite|would|not empty|exists|refus|replace/i };
const EITHER: Expect = { exit: [0, 1, 2] };
const forward = (ck: string, out: string, extra: string[] = []) => ['forward', ck, '--ids', IDS_ARG, '--out', out, ...extra];
const userFiles = (dir: string, files: Record<string, string>) => {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
};
const withCk = (dir: string) => forgeCheckpoint(path.join(dir, 'ck'), 'gp-norm');
const withSpecs = (dir: string) => writeTinySpecs(path.join(dir, 'spec'));

function clobberProbes(): Probe[] {
  return [
    clobberProbe('forward --out CK/model.safetensors', withCk, (d) => forward('ck', 'ck/model.safetensors'), REFUSE),
    clobberProbe('forward --out CK/config.json', withCk, (d) => forward('ck', 'ck/config.json'), REFUSE),
    clobberProbe('forward --out the checkpoint directory', withCk, (d) => forward('ck', 'ck'), REFUSE),
    clobberProbe('forward --out a symlink to the checkpoint weights', (d) => {
      withCk(d);
      fs.symlinkSync('ck/model.safetensors', path.join(d, 'out.npy'));
    }, () => forward('ck', 'out.npy'), REFUSE),
    clobberProbe('forward --spec S --out S', (d) => {
      withCk(d);
      withSpecs(d);
    }, () => forward('ck', 'spec/gp-norm.rh', ['--spec', 'spec/gp-norm.rh']), REFUSE),
    clobberProbe('forward --out over a user file that is not .npy', (d) => {
      withCk(d);
      userFiles(d, { 'out.npy': 'my notes, not an array\n' });
    }, () => forward('ck', 'out.npy'), REFUSE),
    clobberProbe('forward --out over an earlier .npy (allowed)', withCk, () => forward('ck', 'out.npy'), { exit: [0] }, ['out.npy', /^\.out\.npy\./]),
    clobberProbe('init-weights --out a folder with the user\'s config.json and weights', (d) => {
      withSpecs(d);
      userFiles(d, { 'user/config.json': '{"mine": true}\n', 'user/model.safetensors': 'not rhc\'s\n', 'user/notes.txt': 'keep me\n' });
    }, () => ['init-weights', 'spec/gp-norm.rh', '--out', 'user'], REFUSE),
    clobberProbe('init-weights --out a folder holding only the user\'s notes', (d) => {
      withSpecs(d);
      userFiles(d, { 'user/notes.txt': 'keep me\n' });
    }, () => ['init-weights', 'spec/gp-norm.rh', '--out', 'user'], EITHER, ['user/config.json', 'user/model.safetensors', /^user\/\.[^/]*rhc-/, /^\.user\.rhc-/]),
    clobberProbe('init-weights of my.rh --out a folder with a different my.rh', (d) => {
      withSpecs(d);
      fs.copyFileSync(path.join(d, 'spec/gp.rh'), path.join(d, 'spec/my.rh'));
      userFiles(d, { 'out/my.rh': '// the user\'s own my.rh\n' });
    }, () => ['init-weights', 'spec/my.rh', '--out', 'out'], EITHER, ['out/config.json', 'out/model.safetensors', /^out\/\.[^/]*rhc-/, /^\.out\.rhc-/]),
    clobberProbe('init-weights --out the folder of its own spec (the user\'s project)', (d) => {
      withSpecs(d);
      fs.copyFileSync(path.join(d, 'spec/gp.rh'), path.join(d, 'spec/my.rh'));
      userFiles(d, { 'spec/README.md': '# my project\n' });
    }, () => ['init-weights', 'spec/my.rh', '--out', 'spec'], EITHER, ['spec/config.json', 'spec/model.safetensors', /^spec\/\.[^/]*rhc-/, /^\.spec\.rhc-/]),
    clobberProbe('init-weights --out a user\'s file', (d) => {
      withSpecs(d);
      userFiles(d, { 'notes.txt': 'keep me\n' });
    }, () => ['init-weights', 'spec/gp.rh', '--out', 'notes.txt'], REFUSE),
    clobberProbe('init-weights --out a symlink to the user\'s folder', (d) => {
      withSpecs(d);
      userFiles(d, { 'user/config.json': '{"mine": true}\n' });
      fs.symlinkSync('user', path.join(d, 'link'));
    }, () => ['init-weights', 'spec/gp.rh', '--out', 'link'], EITHER, [/^\.link\.rhc-/]),
    clobberProbe('compile -o a folder with the user\'s README.md and kernels/x.wgsl', (d) => {
      withSpecs(d);
      userFiles(d, { 'art/README.md': '# my notes\n', 'art/kernels/x.wgsl': '// my shader\n' });
    }, () => ['compile', 'spec/gp.rh', '--target', 'webgpu', '-o', 'art'], EITHER, [/^art\/(?!README\.md$|kernels\/x\.wgsl$)/, /^\.art\.rhc-/]),
    clobberProbe('compile -o an earlier artifact with the user\'s notes.txt added', async (d, ctx) => {
      await layOld(WRITERS[1], d, ctx);
      userFiles(d, { 'art/notes.txt': 'keep me\n' });
    }, () => ['compile', 'spec/gp.rh', '--target', 'webgpu', '-o', 'art'], EITHER, [/^art\/(?!notes\.txt$)/, /^\.art\.rhc-/]),
    clobberProbe('compile --target onnx -o its own spec', (d) => {
      withSpecs(d);
      fs.copyFileSync(path.join(d, 'spec/gp.rh'), path.join(d, 'spec/model.onnx'));
    }, () => ['compile', 'spec/model.onnx', '--target', 'onnx', '-o', 'spec/model.onnx'], REFUSE),
    clobberProbe('compile --target onnx -o a user file that is not ONNX', (d) => {
      withSpecs(d);
      userFiles(d, { 'm.onnx': 'my notes\n' });
    }, () => ['compile', 'spec/gp.rh', '--target', 'onnx', '-o', 'm.onnx'], REFUSE),
    ...['...rh', '..rh', '.rh'].map((spec) =>
      clobberProbe(`compile a spec named '${spec}' with the default output`, (d) => {
        writeTinySpecs(d);
        fs.copyFileSync(path.join(d, 'gp.rh'), path.join(d, spec));
        userFiles(d, { 'README.md': '# the user\'s project\n', 'generated/other/keep.txt': 'another artifact\n' });
      }, () => ['compile', spec, '--target', 'webgpu'], EITHER, [/^generated\/(?!other(\/|$))/, /^generated\/\.[^/]*rhc-/, /^\.generated\.rhc-/]),
    ),
  ];
}

export function writeProbes(): Probe[] {
  return [
    ...WRITERS.flatMap((w) => MOMENTS.map((m) => interruptProbe(w, m))),
    ...WRITERS.flatMap((w) => (['together', { kind: 'event', n: 1 }, { kind: 'event', n: 3 }] as const).map((m) => raceProbe(w, m))),
    ...clobberProbes(),
  ];
}
