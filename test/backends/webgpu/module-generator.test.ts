// The typed module generated on a worker thread (module-generator.ts) is the module the calling
// thread generates, an error in it reaches the caller with its message, and the artifact built
// with the overlap equals the one built without it, file for file.

import { describe, expect, it } from 'vitest';
import { buildArtifact, buildArtifactOverlapped } from '../../../backends/webgpu/artifact.ts';
import { addressSpaceLimited, startModuleGenerator } from '../../../backends/webgpu/module-generator.ts';
import { moduleFiles, type ModuleInput } from '../../../backends/webgpu/typescript.ts';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lowerSpec } from '../../../src/model/model.ts';
import { ROOT } from '../../helpers/rh.ts';

const INPUT: ModuleInput = { spec: 'gp-norm', specPath: 'spec/gp-norm.rh', model: 'gp_norm', className: 'GpNormModel', config: { vocab_size: 96, n_positions: 16, n_embd: 32 } };

describe('the module generator', () => {
  it('generates on a worker thread the files the calling thread generates', async () => {
    const generator = startModuleGenerator();
    expect(generator.overlapped).toBe(true); // module-worker.ts is beside it in the sources
    const files = await generator.generate(INPUT);
    expect(generator.overlapped).toBe(true); // and it did not fall back to this thread
    expect(files).toEqual(moduleFiles(INPUT));
    expect(files.ts).toContain('export class GpNormModel');
    expect(files.js).toContain('class GpNormModel');
    expect(files.dts).toContain('declare class GpNormModel');
  }, 60_000);

  it("reports the generator's own error with its message", async () => {
    const generator = startModuleGenerator();
    await expect(generator.generate({ ...INPUT, config: { ...INPUT.config, bad: Number.NaN } })).rejects.toThrow(/non-finite config value NaN/);
  }, 60_000);

  it('generates one module per generator, and can be stopped unused', async () => {
    const generator = startModuleGenerator();
    const first = generator.generate(INPUT);
    expect(() => generator.generate(INPUT)).toThrow(/one module/);
    await first;
    startModuleGenerator().dispose();
  }, 60_000);

  it('builds the same artifact with the module generated alongside the WGSL', async () => {
    const spec = path.join(ROOT, 'spec/gp-norm.rh');
    const set = Object.entries({ n_layer: 1, n_embd: 32, n_head: 4, vocab_size: 96, n_positions: 16 }).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
    const graph = lowerSpec(spec, set);
    const opts = { specFile: spec };
    const overlapped = await buildArtifactOverlapped(graph, opts, startModuleGenerator());
    const plain = buildArtifact(graph, opts);
    expect([...overlapped.files.keys()].sort()).toEqual([...plain.files.keys()].sort());
    for (const [rel, contents] of plain.files) expect(overlapped.files.get(rel), rel).toEqual(contents);
  }, 60_000);

  it('generates on the calling thread under an address-space limit (a worker failing to reserve memory aborts the process)', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'tmp-limits-'));
    try {
      const limits = (soft: string) => {
        const f = path.join(dir, `limits-${soft}`);
        fs.writeFileSync(f, `Limit                     Soft Limit           Hard Limit           Units\nMax address space         ${soft}            ${soft}            bytes\n`);
        return f;
      };
      expect(addressSpaceLimited(limits('unlimited'))).toBe(false);
      expect(addressSpaceLimited(limits('8589934592'))).toBe(true);
      expect(addressSpaceLimited(path.join(dir, 'absent'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // A process under `ulimit -v` (Linux) generates on its own thread, and still writes the module.
    if (fs.existsSync('/proc/self/limits')) {
      const script = [
        "import { startModuleGenerator } from './backends/webgpu/module-generator.ts';",
        'const g = startModuleGenerator();',
        `const files = await g.generate(${JSON.stringify(INPUT)});`,
        "process.stdout.write(JSON.stringify({ overlapped: g.overlapped, ts: files.ts.includes('export class GpNormModel') }));",
      ].join('\n');
      const node = [process.execPath, '--disable-wasm-trap-handler', '--import', 'tsx', '--input-type=module', '-e', script];
      const r = spawnSync('bash', ['-c', 'ulimit -v 16777216 && exec "$@"', 'bash', ...node], { cwd: ROOT, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ overlapped: false, ts: true });
    }
  });
});
