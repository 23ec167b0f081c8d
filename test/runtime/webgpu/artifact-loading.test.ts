// Loading an artifact directory with a checkpoint: a mismatched checkpoint (other spec, other
// dims, a tensor of the wrong shape) is refused with a message saying what to do, before
// anything runs; the generated class refuses an artifact compiled for something else.
// The GPU (SwiftShader in CI) is needed only where a model is really created.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact, writeArtifact } from '../../../backends/webgpu/artifact.ts';
import { graphForCheckpoint, initModel, loadModel, saveModel } from '../../../src/model/model.ts';
import { cpuBackend } from '../../../src/runtime/backends.ts';
import { checkCheckpointConfig, loadArtifactModel, idBatch } from '../../../src/runtime/webgpu/artifact-model.ts';
import type { ArtifactManifest } from '../../../src/runtime/webgpu/artifact-files.ts';
import { acquireDevice, type GpuContext } from '../../../src/runtime/webgpu/device.ts';
import { nodeFiles } from '../../../src/runtime/webgpu/node-files.ts';
import { ROOT, tempDir } from '../../helpers/rh.ts';

const DIMS = { n_layer: 1, n_embd: 16, n_head: 2, vocab_size: 40, n_positions: 8 };
const overrides = (dims: Record<string, number>) => Object.entries(dims).map(([name, value]) => ({ name, value, origin: '--set', strict: true }));
const spec = (name: string) => path.join(ROOT, 'spec', `${name}.rh`);

const dir = tempDir();
const artifactDir = path.join(dir, 'artifact');
const checkpoint = (name: string, specName: string, dims: Record<string, number>) => {
  const out = path.join(dir, name);
  saveModel(initModel(spec(specName), { seed: 1, overrides: overrides(dims) }), out);
  return nodeFiles(out);
};
// Mismatches are found before the device is touched, so no GPU is needed to test them.
const noGpu = {} as GpuContext;

beforeAll(() => {
  const model = initModel(spec('gp-norm'), { overrides: overrides(DIMS) });
  writeArtifact(artifactDir, buildArtifact(model.graph, { specFile: spec('gp-norm') }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadArtifactModel refuses a checkpoint that does not fit', () => {
  it('of other dims, saying which --set would fit', async () => {
    const wide = checkpoint('wide', 'gp-norm', { ...DIMS, n_embd: 32 });
    await expect(loadArtifactModel(noGpu, nodeFiles(artifactDir), wide)).rejects.toThrow(/n_embd is 32, the artifact was compiled with 16; recompile with --set n_embd=32/);
  });

  it('of another variant', async () => {
    const lr = checkpoint('lr', 'lr', DIMS);
    await expect(loadArtifactModel(noGpu, nodeFiles(artifactDir), lr)).rejects.toThrow(/rotatinghead is "lr", the artifact \(gp-norm\) needs "gp"/);
  });

  it('when the class was generated for another config', async () => {
    const ok = checkpoint('ok', 'gp-norm', DIMS);
    const config = { ...initModel(spec('gp-norm'), { overrides: overrides(DIMS) }).graph.config, n_layer: 24 };
    await expect(loadArtifactModel(noGpu, nodeFiles(artifactDir), ok, { spec: 'gp-norm', config })).rejects.toThrow(
      /the artifact is gp-norm \(n_layer=1\), but this class was generated for gp-norm with n_layer=24/,
    );
  });

  it('when the artifact directory is missing a file', async () => {
    await expect(loadArtifactModel(noGpu, nodeFiles(dir), new Map())).rejects.toThrow(/manifest\.json: file not found/);
  });
});

describe('loadArtifactModel refuses a directory that mixes compiles', () => {
  const other = path.join(dir, 'other');
  beforeAll(() => {
    const wide = initModel(spec('gp-norm'), { overrides: overrides({ ...DIMS, n_embd: 32 }) });
    writeArtifact(other, buildArtifact(wide.graph, { specFile: spec('gp-norm') }));
  });
  const mix = (name: string, from: string, rel: string) => {
    const mixed = path.join(dir, name);
    fs.cpSync(artifactDir, mixed, { recursive: true });
    fs.copyFileSync(path.join(from, rel), path.join(mixed, rel));
    return mixed;
  };

  it('a plan from another compile, naming the file', async () => {
    const mixed = mix('mixed-plan', other, 'plan.json');
    await expect(loadArtifactModel(noGpu, nodeFiles(mixed), new Map())).rejects.toThrow(
      /mixed-plan\/plan\.json: \d+ bytes, but manifest\.json says \d+: the directory mixes files of different compiles/,
    );
  });

  it('the manifest of another compile beside this one\'s plan and kernels', async () => {
    const mixed = mix('mixed-manifest', other, 'manifest.json');
    await expect(loadArtifactModel(noGpu, nodeFiles(mixed), new Map())).rejects.toThrow(/mixed-manifest\/(plan\.json|kernels\/\w+\.wgsl|constants\.bin): .*mixes files of different compiles/);
  });

  it('a kernel edited in place (same size), by its sha-256', async () => {
    const mixed = mix('edited', artifactDir, 'plan.json');
    const kernel = fs.readdirSync(path.join(mixed, 'kernels'))[0];
    const file = path.join(mixed, 'kernels', kernel);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/\bf32\b/);
    fs.writeFileSync(file, text.replace(/\bf32\b/, 'i32')); // same length: only the hash can tell
    await expect(loadArtifactModel(noGpu, nodeFiles(mixed), new Map())).rejects.toThrow(new RegExp(`edited/kernels/${kernel.replace('.', '\\.')}: its sha-256 is [0-9a-f]+\\.\\.\\., but manifest\\.json says`));
  });
});

describe('the config rule is the CLI\'s: the loader accepts a config.json iff the CLI would compute the artifact\'s numbers from it', () => {
  // Two artifacts of one spec: at the spec's defaults, and with eps and base_frequency set.
  const tuned = { layer_norm_epsilon: 0.001, base_frequency: 500 };
  const manifests: Record<string, ArtifactManifest> = {};
  const ckpt = path.join(dir, 'rule-ckpt');
  let full: Record<string, unknown>;
  beforeAll(() => {
    for (const [name, extra] of [['plain', {}], ['tuned', tuned]] as const) {
      const out = path.join(dir, `rule-${name}`);
      const a = buildArtifact(initModel(spec('gp-norm'), { overrides: overrides({ ...DIMS, ...extra }) }).graph, { specFile: spec('gp-norm') });
      manifests[name] = a.manifest;
    }
    saveModel(initModel(spec('gp-norm'), { seed: 2, overrides: overrides(DIMS) }), ckpt);
    full = JSON.parse(fs.readFileSync(path.join(ckpt, 'config.json'), 'utf8'));
  });
  const without = (c: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(c).filter(([k]) => !keys.includes(k)));
  const outcome = (f: () => unknown): { ok: unknown } | { error: string } => {
    try {
      return { ok: f() };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  const cases: [string, (c: Record<string, unknown>) => Record<string, unknown>][] = [
    ['only the selectors', () => ({ rotatinghead: 'gp', use_norm: true })],
    ['complete', (c) => c],
    ['without eps and base_frequency', (c) => without(c, 'layer_norm_epsilon', 'base_frequency')],
    ['with n_embd as a string', (c) => ({ ...c, n_embd: '16' })],
    ['with n_head not dividing n_embd', (c) => ({ ...c, n_head: 3 })],
  ];
  const run = (name: string, make: (c: Record<string, unknown>) => Record<string, unknown>, artifact: string) => {
    const raw = make(full);
    fs.writeFileSync(path.join(ckpt, 'config.json'), JSON.stringify(raw));
    const where = path.join(ckpt, 'config.json');
    const cli = outcome(() => graphForCheckpoint(ckpt, { spec: spec('gp-norm') }).graph.config);
    const loader = outcome(() => checkCheckpointConfig(manifests[artifact], JSON.parse(JSON.stringify(raw)), where));
    if ('error' in cli) expect(loader, name).toEqual(cli); // the same words
    else expect('ok' in loader, `${name}: ${JSON.stringify(loader)}`).toBe(JSON.stringify(cli.ok) === JSON.stringify(manifests[artifact].config));
    return { cli, loader };
  };

  it.each(cases)('%s', (name, make) => {
    const plain = run(name, make, 'plain');
    const tunedRun = run(name, make, 'tuned');
    if (name === 'only the selectors') expect(plain.loader).toEqual({ error: `${path.join(ckpt, 'config.json')}: required key "n_embd" is missing` });
    if (name === 'complete') expect(plain.loader).toEqual({ ok: undefined });
    if (name === 'without eps and base_frequency') {
      expect(plain.loader).toEqual({ ok: undefined }); // the spec's defaults are what the artifact has
      // The CLI would run with eps 1e-5: the artifact's 0.001 would be wrong numbers.
      expect((tunedRun.cli as { ok: Record<string, unknown> }).ok.layer_norm_epsilon).toBe(1e-5);
      expect((tunedRun.loader as { error: string }).error).toMatch(/layer_norm_epsilon is 0\.00001 \(absent, so the spec's default\), the artifact was compiled with 0\.001; base_frequency is 10000 \(absent, so the spec's default\), the artifact was compiled with 500; recompile with --set layer_norm_epsilon=0\.00001 --set base_frequency=10000/);
    }
  });

  it('loadArtifactModel applies it: a config.json of just the selectors is refused as the CLI refuses it', async () => {
    fs.writeFileSync(path.join(ckpt, 'config.json'), JSON.stringify({ rotatinghead: 'gp', use_norm: true }));
    await expect(loadArtifactModel(noGpu, nodeFiles(artifactDir), nodeFiles(ckpt))).rejects.toThrow(/config\.json: required key "n_embd" is missing/);
  });
});

describe('loading on the GPU', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await acquireDevice();
  });
  afterAll(() => ctx?.destroy());

  it('names a tensor of the wrong shape', async () => {
    const weights = new Map(initModel(spec('gp-norm'), { overrides: overrides(DIMS) }).weights);
    weights.set('transformer.wte.weight', new Float32Array(7));
    await expect(loadArtifactModel(ctx, nodeFiles(artifactDir), weights)).rejects.toThrow(/tensor 'transformer\.wte\.weight' has 7 values, the model expects \[40, 16\] = 640/);
  });

  it('runs a checkpoint that fits, matching the reference interpreter', async () => {
    const ckptDir = path.join(dir, 'fits');
    const files = checkpoint('fits', 'gp-norm', DIMS);
    const { model, manifest } = await loadArtifactModel(ctx, nodeFiles(artifactDir), files);
    expect(manifest.spec).toBe('gp-norm');
    const { ids, batch, seq } = idBatch([3, 1, 4, 1, 5], DIMS.vocab_size, DIMS.n_positions);
    const logits = await model.forward(ids, batch, seq);
    model.destroy();
    const ref = loadModel(ckptDir);
    const expected = await cpuBackend().forward({ graph: ref.graph, weights: ref.weights, ids, batch, seq });
    expect(logits.length).toBe(expected.length);
    expect(Math.max(...logits.map((v, i) => Math.abs(v - expected[i])))).toBeLessThan(1e-4);
  });
});

describe('helpers', () => {
  it('idBatch checks ids and row lengths', () => {
    expect(idBatch([1, 2], 10, 4)).toEqual({ ids: Int32Array.from([1, 2]), batch: 1, seq: 2 });
    expect(() => idBatch([1, 10], 10, 4)).toThrow(/token id 10 \(row 0, position 1\) is not in \[0, 10\)/);
    expect(() => idBatch([[1], [1, 2]], 10, 4)).toThrow(/row 1 has 2 tokens, row 0 has 1/);
    expect(() => idBatch([1, 2, 3, 4, 5], 10, 4)).toThrow(/5 tokens exceed the model's 4 positions/);
    expect(() => idBatch([], 10, 4)).toThrow(/at least one token/);
  });

  it('nodeFiles refuses paths outside its directory', async () => {
    await expect(nodeFiles(artifactDir).text('../../etc/passwd')).rejects.toThrow(/outside the directory/);
  });
});
