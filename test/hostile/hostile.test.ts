// The bounded hostile-input suite of issue 7: mutated specs, hostile checkpoints and configs,
// writes killed part-way, concurrent writers, outputs aimed at the user's files. It prints a
// table (probes, crashes, silent wrong results, clobbered files, unclear errors; per family),
// writes it as JSON under the OS temp dir, and fails listing every failing probe with its output.
//
// Debugging: RHC_HOSTILE=spec (or checkpoint, interrupt, concurrent, clobber; comma-separated)
// runs those families only; RHC_HOSTILE_GREP=text runs the probes whose name contains the text.
// The failing probes' directories are kept (their path is printed).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FAMILIES, formatFailures, formatTable, runAll, summarise, tempRoot, type Family } from './harness.ts';
import { probesOf } from './probes.ts';
import { ServerPool } from './runner.ts';

const families = (process.env.RHC_HOSTILE ?? '').split(',').map((s) => s.trim()).filter(Boolean) as Family[];
const unknown = families.filter((f) => !(FAMILIES as readonly string[]).includes(f));
if (unknown.length) throw new Error(`RHC_HOSTILE: unknown families ${unknown.join(', ')} (known: ${FAMILIES.join(', ')})`);
const grep = process.env.RHC_HOSTILE_GREP;

const pool = new ServerPool(2);
afterAll(() => pool.close());

it('hostile input: 0 crashes, 0 silent wrong results, 0 clobbered files, 0 unclear errors', { timeout: 600_000 }, async () => {
  const probes = probesOf(families).filter((p) => !grep || p.name.includes(grep));
  const root = tempRoot();
  const fixtures = path.join(root, 'fixtures');
  fs.mkdirSync(fixtures);
  const t0 = performance.now();
  const outcomes = await runAll(probes, root, { pool, fixtures }, 2);
  const summary = summarise(outcomes, (performance.now() - t0) / 1000);
  const report = path.join(os.tmpdir(), 'rhc-hostile-summary.json');
  fs.writeFileSync(report, JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(`${formatTable(summary)}\nsummary: ${report}\n`);
  // keep only what explains a failure: the failing probes' directories
  for (const o of outcomes) if (o.problems.length === 0) fs.rmSync(o.dir, { recursive: true, force: true });
  fs.rmSync(fixtures, { recursive: true, force: true });
  if (summary.failures.length === 0) fs.rmSync(root, { recursive: true, force: true });
  else process.stdout.write(`the failing probes' directories are kept in ${root}\n`);
  const failed = summary.failures.length ? `\n${formatFailures(summary)}` : '';
  expect({ probes: summary.probes > 0, ...summary.counts }, failed).toEqual({ probes: true, crash: 0, 'silent-wrong': 0, clobbered: 0, unclear: 0 });
});
