// The WebGPU artifact as files: layout, manifest and plan, the generated TypeScript (it must
// typecheck against the real runtime), names from a spec that cannot inject code, and the CLI.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Project, SyntaxKind } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact, prettyJson, runtimeSpecifier, writeArtifact, type Artifact } from '../../../backends/webgpu/artifact.ts';
import { classNameFor, commentText, generateModelModule } from '../../../backends/webgpu/typescript.ts';
import type { Graph } from '../../../src/ir/graph.ts';
import { initModel, lowerSpec, saveModel } from '../../../src/model/model.ts';
import { validateManifest, KERNEL_FILE_NAME } from '../../../src/runtime/webgpu/artifact-files.ts';
import { ROOT, rhc, tempDir } from '../../helpers/rh.ts';

const SPEC = path.join(ROOT, 'spec/gp-norm.rh');
const TINY = ['n_layer=1', 'n_embd=32', 'n_head=4', 'vocab_size=64', 'n_positions=16'];
const set = (s: string) => ({ name: s.split('=')[0], value: Number(s.split('=')[1]), origin: '--set', strict: true });
const tinyGraph = (): Graph => lowerSpec(SPEC, TINY.map(set));

// One ts-morph project over the real tree: generated modules are added in memory at a path
// inside rhc (so their relative imports reach src/runtime) and checked without emitting.
let project: Project;
beforeAll(() => {
  project = new Project({ tsConfigFilePath: path.join(ROOT, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
});

function typeErrors(text: string, dir = path.join(ROOT, 'generated', '__typecheck__')): string[] {
  const file = project.createSourceFile(path.join(dir, 'model.ts'), text, { overwrite: true });
  try {
    return file.getPreEmitDiagnostics().map((d) => `${d.getLineNumber()}: ${project.formatDiagnosticsWithColorAndContext([d])}`);
  } finally {
    project.removeSourceFile(file);
  }
}

const text = (a: Artifact, rel: string) => a.files.get(rel) as string;

describe('buildArtifact', () => {
  let artifact: Artifact;
  beforeAll(() => {
    artifact = buildArtifact(tinyGraph(), { specFile: SPEC, outDir: path.join(ROOT, 'generated', 'tiny') });
  });

  it('lays out manifest, plan, kernels and the typed module', () => {
    const m = validateManifest(JSON.parse(text(artifact, 'manifest.json')), 'manifest.json');
    expect(m).toMatchObject({ spec: 'gp-norm', model: 'gp_norm', className: 'GpNormModel', selects: { rotatinghead: 'gp', use_norm: true } });
    expect(m.config).toMatchObject({ n_layer: 1, n_embd: 32, n_head: 4, vocab_size: 64, n_positions: 16 });
    expect(m.parameters).toContainEqual({ name: 'transformer.wte.weight', shape: [64, 32] });
    expect(m.kernels.length).toBeGreaterThan(0);
    for (const k of m.kernels) {
      expect(k).toMatch(KERNEL_FILE_NAME);
      expect(text(artifact, `kernels/${k}`)).toMatch(/@compute/);
    }
    const plan = JSON.parse(text(artifact, 'plan.json'));
    expect(typeof plan).toBe('object');
    expect(JSON.stringify(plan)).toContain('transformer.wte.weight'); // the plan says which tensor fills which buffer
    expect([...artifact.files.keys()]).toEqual(expect.arrayContaining(['manifest.json', 'plan.json', 'model.ts', 'README.md']));
  });

  it('generates a module that typechecks against the runtime', () => {
    expect(typeErrors(text(artifact, 'model.ts'))).toEqual([]);
    expect(text(artifact, 'model.ts')).toMatch(/export class GpNormModel \{/);
  });

  it('writes the files and removes kernels a previous compile left', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'kernels'));
    fs.writeFileSync(path.join(dir, 'kernels', 'k999_stale.wgsl'), '');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    writeArtifact(dir, artifact);
    expect(fs.existsSync(path.join(dir, 'kernels', 'k999_stale.wgsl'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine'); // not ours: kept
    expect(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8')).toBe(text(artifact, 'plan.json'));
  });
});

describe('names from a spec cannot inject code', () => {
  const EVIL = `x"; globalThis.pwned = 1; //\n*/ } @compute fn evil() {} /*`;
  // Exactly the imports and the class: nothing a name says became a statement.
  const MODULE_SHAPE = [...Array(6).fill('ImportDeclaration'), 'ClassDeclaration'];
  const statementKinds = (src: string) => new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', src).getStatements().map((s) => s.getKindName());

  it('class names keep only letters and digits', () => {
    expect(classNameFor('gp_norm')).toBe('GpNormModel');
    expect(classNameFor('gpt2')).toBe('Gpt2Model');
    expect(classNameFor('2fast')).toBe('Rhc2fastModel');
    expect(classNameFor(EVIL)).toMatch(/^[A-Z][A-Za-z0-9]*$/);
    expect(commentText(EVIL)).not.toMatch(/[\n*]/);
  });

  it('a hostile model, spec and config name stay data in the TypeScript', () => {
    const src = generateModelModule({
      spec: EVIL,
      specPath: EVIL,
      model: EVIL,
      className: classNameFor(EVIL),
      config: { vocab_size: 64, n_positions: 16, [EVIL]: 1 },
      runtime: '../../src/runtime',
    });
    expect(typeErrors(src)).toEqual([]);
    expect(statementKinds(src)).toEqual(MODULE_SHAPE);
    const file = new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', src);
    const cls = file.getClasses()[0];
    expect(cls.getStaticPropertyOrThrow('specName').getFirstDescendantByKindOrThrow(SyntaxKind.StringLiteral).getLiteralValue()).toBe(EVIL);
    expect(cls.getMethods().map((m) => m.getName())).toEqual(['load', 'forward', 'generate', 'decoder', 'destroy']);
  });

  it('refuses a runtime path or config value that could not be written safely', () => {
    const base = { spec: 's', specPath: 's.rh', model: 'm', className: 'MModel', config: { vocab_size: 64, n_positions: 16 }, runtime: '../src/runtime' };
    expect(() => generateModelModule({ ...base, runtime: `x'; evil()` })).toThrow(/not a plain path/);
    expect(() => generateModelModule({ ...base, config: { ...base.config, bad: NaN } })).toThrow(/non-finite/);
    expect(() => generateModelModule({ ...base, className: 'M; evil()' })).toThrow(/safe identifier/);
  });

  it('a hostile model or parameter name reaches no kernel, and survives the JSON files intact', () => {
    const g = tinyGraph();
    const evilParam = `transformer.wte.weight${EVIL}`;
    const graph: Graph = {
      ...g,
      name: EVIL,
      nodes: g.nodes.map((n) => (n.op === 'param' && n.attrs.name === 'transformer.wte.weight' ? { ...n, attrs: { ...n.attrs, name: evilParam }, hint: EVIL } : n)),
    };
    const a = buildArtifact(graph, { specFile: SPEC, outDir: path.join(ROOT, 'generated', 'tiny') });
    for (const [rel, contents] of a.files) {
      if (rel.endsWith('.wgsl')) expect(contents, rel).not.toContain('@compute fn evil');
      if (rel.endsWith('.md')) expect(contents, rel).not.toContain(EVIL);
    }
    expect(statementKinds(text(a, 'model.ts'))).toEqual(MODULE_SHAPE);
    const m = validateManifest(JSON.parse(text(a, 'manifest.json')), 'manifest.json');
    expect(m.model).toBe(EVIL);
    expect(m.parameters.map((p) => p.name)).toContain(evilParam);
    expect(JSON.stringify(JSON.parse(text(a, 'plan.json')))).toContain(JSON.stringify(evilParam).slice(1, -1));
    expect(typeErrors(text(a, 'model.ts'))).toEqual([]);
  });

  it('a manifest naming kernels outside its directory is rejected', () => {
    const m = JSON.parse(text(buildArtifact(tinyGraph(), { specFile: SPEC, outDir: ROOT }), 'manifest.json'));
    expect(() => validateManifest({ ...m, kernels: ['../../etc/passwd.wgsl'] }, 'm.json')).toThrow(/plain \.wgsl file names/);
  });
});

describe('helpers', () => {
  it('imports the runtime relatively inside rhc and by package path outside it', () => {
    expect(runtimeSpecifier(path.join(ROOT, 'generated', 'gp-norm'))).toBe('../../src/runtime');
    expect(runtimeSpecifier(tempDir())).toBe('rhc/src/runtime');
  });

  it('prettyJson puts flat arrays and small flat objects on one line, and parses back', () => {
    const v = { a: [1, 2, 3], b: [{ c: 'x', d: [1] }], e: {}, f: { long: 'y'.repeat(100) } };
    expect(prettyJson(v)).toBe(`{\n  "a": [1,2,3],\n  "b": [\n    {"c":"x","d":[1]}\n  ],\n  "e": {},\n  "f": {\n    "long": "${'y'.repeat(100)}"\n  }\n}`);
    expect(JSON.parse(prettyJson(v))).toEqual(v);
  });
});

describe('rhc compile --target webgpu', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the artifact and says what it wrote', () => {
    const out = path.join(dir, 'gp-norm');
    const r = rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', ...TINY.flatMap((s) => ['--set', s]), '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*gp-norm\/: \d+ WGSL kernels, plan\.json [\d.]+ KiB, (constants\.bin [\d.]+ KiB, )?model\.ts \(class GpNormModel\); [\d.]+ KiB in all, gp_norm at n_layer=1 n_embd=32 n_head=4\n$/);
    for (const f of ['manifest.json', 'plan.json', 'model.ts', 'README.md']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
  });

  it('compiles for a checkpoint\'s dims with --weights, and refuses one of another variant', () => {
    const ckpt = path.join(dir, 'ckpt');
    saveModel(initModel(SPEC, { overrides: TINY.map(set) }), ckpt);
    const out = path.join(dir, 'from-ckpt');
    const r = rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', '--weights', ckpt, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).config).toMatchObject({ n_layer: 1, n_embd: 32, vocab_size: 64 });
    const bad = rhc(['compile', 'spec/lr.rh', '--target', 'webgpu', '--weights', ckpt, '-o', path.join(dir, 'bad')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/rotatinghead="gp", use_norm=true, but the spec is lr\.rh/);
    expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
  });

  it('refuses a file as the output directory and onnx-only options', () => {
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, '');
    expect(rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', '-o', file]).stderr).toMatch(/is a directory, but .* is a file/);
    expect(rhc(['compile', 'spec/gp-norm.rh', '--target', 'webgpu', '--with-past', '-o', path.join(dir, 'x')]).status).toBe(2);
  });
});
