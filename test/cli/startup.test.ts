// What the CLI loads for a command (issue 10's start-up): each command only its own module and
// what its action needs. `rhc --version` loads no command and no DSL, `check` the DSL but not the
// heavy packages of other commands (ts-morph, ONNX, onnxruntime, WebGPU, vega) nor lodash-es
// (chevrotain's bundle, src/dsl/chevrotain.ts), and `compile` only its target's. Each runs as a
// child process whose every loaded module is recorded (test/helpers/load-trace.mjs); packages
// that must load are asserted too, so a trace that saw nothing cannot pass.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/rh.ts';

interface Traced {
  status: number | null;
  stdout: string;
  stderr: string;
  /** npm packages by name (`@ts-morph/common`, `chevrotain`) */
  packages: Set<string>;
  /** rhc's own modules, relative to the root (`src/cli/commands/check.ts`) */
  own: Set<string>;
  /** every file: URL loaded */
  urls: string[];
}

/** Runs `rhc args` from the sources (through tsx) with the load trace on. */
function traced(args: string[]): Traced {
  const trace = path.join(tempDir(), 'loaded.txt');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/helpers/load-trace.mjs', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, RHC_LOAD_TRACE: trace },
  });
  const urls = [...new Set(fs.readFileSync(trace, 'utf8').split('\n').filter((u) => u.startsWith('file:')))];
  const packages = new Set<string>();
  const own = new Set<string>();
  for (const url of urls) {
    const file = decodeURIComponent(new URL(url).pathname);
    const pkg = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (pkg) packages.add(pkg[1]);
    else if (file.startsWith(ROOT + '/')) own.add(path.relative(ROOT, file));
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, packages, own, urls };
}

/** Packages only some commands need; none of them may load where the test does not expect it. */
const HEAVY = ['ts-morph', '@ts-morph/common', 'onnx-proto', 'protobufjs', 'onnxruntime-node', 'onnxruntime-common', 'webgpu', 'vega', 'vega-lite', 'gpt-tokenizer', 'cli-progress', 'hyparquet'];

const commandsLoaded = (t: Traced) => [...t.own].filter((f) => f.startsWith('src/cli/commands/')).sort();
const heavyLoaded = (t: Traced, allowed: string[] = []) => HEAVY.filter((p) => t.packages.has(p) && !allowed.includes(p));
const tiny = ['--set', 'n_layer=1', '--set', 'n_embd=16', '--set', 'n_head=2'];

describe('what each rhc command loads', () => {
  it('--version loads no command, no DSL and no package but commander', () => {
    const t = traced(['--version']);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(t.own).toContain('src/cli/program.ts'); // the trace saw rhc's own modules
    expect(t.packages).toContain('commander');
    expect(commandsLoaded(t)).toEqual([]);
    expect([...t.own].filter((f) => f.startsWith('src/dsl/') && f !== 'src/dsl/diagnostics.ts')).toEqual([]);
    expect(t.packages).not.toContain('chevrotain');
    expect(heavyLoaded(t)).toEqual([]);
  });

  it('check loads its own command and chevrotain as one bundled module: no lodash-es, nothing of compile, ONNX, WebGPU or plots', () => {
    const t = traced(['check', 'spec/gp-norm.rh']);
    expect(t.stderr).toBe('');
    expect(t.stdout).toBe('spec/gp-norm.rh: ok\n');
    expect(commandsLoaded(t)).toEqual(['src/cli/commands/check.ts']);
    expect(t.urls.filter((u) => u.includes('/node_modules/chevrotain/')).map((u) => u.replace(/.*\/node_modules\/chevrotain\//, ''))).toEqual(['lib/chevrotain.mjs']);
    expect(t.packages).not.toContain('lodash-es');
    expect([...t.own].filter((f) => f.startsWith('backends/'))).toEqual([]);
    expect(heavyLoaded(t)).toEqual([]);
  });

  it('compile --target webgpu leaves ts-morph to its worker thread and loads nothing of ONNX, onnxruntime, Dawn or vega', () => {
    const out = path.join(tempDir(), 'artifact');
    const t = traced(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', '-o', out, ...tiny]);
    expect(t.stderr).toBe('');
    expect(t.stdout).toMatch(/^wrote /);
    expect(commandsLoaded(t)).toEqual(['src/cli/commands/compile.ts']);
    // model.ts comes from a worker (backends/webgpu/module-generator.ts; the trace sees the main
    // thread only), which test/backends/webgpu/module-generator.test.ts checks did the work.
    expect(t.own).toContain('backends/webgpu/module-generator.ts');
    expect(fs.readFileSync(path.join(out, 'model.mjs'), 'utf8')).toMatch(/^export class GpNormModel/m);
    expect(heavyLoaded(t)).toEqual([]);
  });

  it('compile --target onnx loads onnx-proto and not ts-morph, onnxruntime or Dawn', () => {
    const out = path.join(tempDir(), 'model.onnx');
    const t = traced(['compile', 'spec/gp-norm.rh', '--target', 'onnx', '-o', out, ...tiny]);
    expect(t.stderr).toBe('');
    expect(t.stdout).toMatch(/^wrote /);
    expect(t.packages).toContain('onnx-proto');
    expect(heavyLoaded(t, ['onnx-proto', 'protobufjs'])).toEqual([]);
  });
});
