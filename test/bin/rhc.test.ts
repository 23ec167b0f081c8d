// bin/rhc.js runs the build in dist/; in a checkout it warns when a source is newer than that
// build (which would otherwise run an older compiler without a word). Checked on a copy of the
// entry point in a directory laid out as a checkout or as the installed package.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/rh.ts';

function layout(withSources: boolean): { dir: string; run: () => { stdout: string; stderr: string; status: number | null } } {
  const dir = fs.mkdtempSync(path.join(tempDir(), 'bin-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(path.join(ROOT, 'bin', 'rhc.js'), path.join(dir, 'bin', 'rhc.js'));
  fs.mkdirSync(path.join(dir, 'dist', 'src', 'cli'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist', 'src', 'cli', 'main.js'), "process.stdout.write('built cli ran\\n');\n");
  if (withSources) {
    fs.mkdirSync(path.join(dir, 'src', 'ir'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'ir', 'graph.ts'), '// source\n');
  }
  const env = { ...process.env };
  delete env.RHC_FROM_SOURCE;
  return { dir, run: () => spawnSync(process.execPath, [path.join(dir, 'bin', 'rhc.js'), '--version'], { cwd: dir, env, encoding: 'utf8' }) };
}

const setMtime = (file: string, seconds: number) => fs.utimesSync(file, seconds, seconds);

describe('bin/rhc.js', () => {
  it('runs the build, and warns in a checkout when a source changed after it', () => {
    const { dir, run } = layout(true);
    const main = path.join(dir, 'dist', 'src', 'cli', 'main.js');
    const source = path.join(dir, 'src', 'ir', 'graph.ts');
    setMtime(source, 1_000_000);
    setMtime(main, 2_000_000);
    const fresh = run();
    expect(fresh.status).toBe(0);
    expect(fresh.stdout).toBe('built cli ran\n');
    expect(fresh.stderr).toBe('');
    setMtime(source, 3_000_000);
    const stale = run();
    expect(stale.stdout).toBe('built cli ran\n');
    expect(stale.stderr).toMatch(/warning: src[/\\]ir[/\\]graph\.ts changed after the build in dist\/: run `npm run build`/);
  });

  it('says nothing of sources in an installed package (no src/), and names the missing build', () => {
    const { dir, run } = layout(false);
    expect(run().stderr).toBe('');
    fs.rmSync(path.join(dir, 'dist'), { recursive: true });
    const missing = run();
    expect(missing.status).toBe(70);
    expect(missing.stderr).toMatch(/rhc is not built .*main\.js is missing\): run `npm run build`/);
  });
});
