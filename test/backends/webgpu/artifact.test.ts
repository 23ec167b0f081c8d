// The WebGPU artifact as files: layout, manifest and plan, the generated TypeScript (it must
// typecheck against the real runtime), names from a spec that cannot inject code, and the CLI.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Project, SyntaxKind } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact, checkArtifactTarget, prettyJson, writeArtifact, type Artifact } from '../../../backends/webgpu/artifact.ts';
import { SEED_ARTIFACTS } from '../../../scripts/generate-artifacts.ts';
import { rhcErrorOf } from '../../helpers/errors.ts';
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
// inside rhc (so that 'rhc/webgpu', the package itself, reaches src/ through tsconfig.json's
// customConditions) and checked without emitting.
let project: Project;
beforeAll(() => {
  project = new Project({ tsConfigFilePath: path.join(ROOT, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
});

/** Type errors of `files` (name -> text) placed together in `dir`, which 'rhc/webgpu' reaches as the sources (tsconfig.json's customConditions). */
function typeErrorsOf(files: Record<string, string>, dir = path.join(ROOT, 'generated', '__typecheck__')): string[] {
  const added = Object.entries(files).map(([name, text]) => project.createSourceFile(path.join(dir, name), text, { overwrite: true }));
  try {
    return added.flatMap((file) => file.getPreEmitDiagnostics().map((d) => `${file.getBaseName()}:${d.getLineNumber()}: ${project.formatDiagnosticsWithColorAndContext([d])}`));
  } finally {
    for (const file of added) project.removeSourceFile(file);
  }
}

const typeErrors = (text: string, dir?: string): string[] => typeErrorsOf({ 'model.ts': text }, dir);

const text = (a: Artifact, rel: string) => a.files.get(rel) as string;

describe('buildArtifact', () => {
  let artifact: Artifact;
  beforeAll(() => {
    artifact = buildArtifact(tinyGraph(), { specFile: SPEC });
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
    expect([...artifact.files.keys()]).toEqual(expect.arrayContaining(['manifest.json', 'plan.json', 'model.ts', 'model.mjs', 'model.d.mts', 'README.md']));
  });

  it('generates a module that typechecks against the runtime', () => {
    expect(typeErrors(text(artifact, 'model.ts'))).toEqual([]);
    expect(text(artifact, 'model.ts')).toMatch(/export class GpNormModel \{/);
  });

  it('imports the runtime through the package (rhc/webgpu), in all three module files', () => {
    const specifiers = (src: string) => new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', src).getImportDeclarations().map((d) => d.getModuleSpecifierValue());
    for (const rel of ['model.ts', 'model.mjs', 'model.d.mts']) expect(specifiers(text(artifact, rel)), rel).toEqual(['rhc/webgpu']);
  });

  it('model.mjs is the class as plain JavaScript, and model.d.mts declares what model.ts exports', () => {
    const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true, noEmit: true } });
    const js = project.createSourceFile('m.js', text(artifact, 'model.mjs'));
    // Parsed as JavaScript: a type annotation left in it would be a syntax error here.
    expect(js.getPreEmitDiagnostics().map((d) => d.getMessageText())).toEqual([]);
    const cls = js.getClassOrThrow('GpNormModel');
    expect(cls.getMethods().map((m) => m.getName())).toEqual(['load', 'forward', 'generate', 'decoder', 'destroy']);
    expect(cls.getStaticPropertyOrThrow('vocabSize').getText()).toBe('static vocabSize = 64;');
    expect(js.getImportDeclarations()[0].getNamedImports().map((n) => n.getName())).toEqual(['generateTokens', 'idBatch', 'loadArtifactModel']);
    // The declarations typecheck against the runtime, and a caller of model.mjs sees model.ts's types.
    const caller = [
      "import { GpNormModel } from './model.mjs';",
      'export const vocab: 64 = GpNormModel.vocabSize;',
      'export const run = (m: GpNormModel): Promise<Float32Array> => m.forward([1, 2]);',
      '// @ts-expect-error: the constructor is private',
      'new GpNormModel();',
      '// @ts-expect-error: forward takes token ids',
      "export const bad = (m: GpNormModel) => m.forward('hello');",
    ].join('\n');
    expect(typeErrorsOf({ 'model.d.mts': text(artifact, 'model.d.mts'), 'caller.ts': caller })).toEqual([]);
  });

  it('names the size and sha-256 of every other file in the manifest', () => {
    const m = validateManifest(JSON.parse(text(artifact, 'manifest.json')), 'manifest.json');
    const others = [...artifact.files.keys()].filter((rel) => rel !== 'manifest.json').sort();
    expect(Object.keys(m.files).sort()).toEqual(others);
    for (const rel of others) {
      const bytes = Buffer.from(artifact.files.get(rel)!);
      expect(m.files[rel], rel).toEqual({ bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    // The spec's defaults, by which a loader resolves keys a checkpoint lacks (spec/gpt2.rh, spec/gp-norm.rh).
    expect(m.defaults).toMatchObject({ n_layer: 24, n_embd: 1024, n_head: 16, vocab_size: 50257, n_positions: 1024, layer_norm_epsilon: 1e-5, base_frequency: 10000 });
  });
});

describe('writeArtifact', () => {
  const artifact = () => buildArtifact(tinyGraph(), { specFile: SPEC });
  const files = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();

  it('replaces an earlier artifact whole: kernels it no longer has are gone, nothing is left beside it', () => {
    const root = tempDir();
    const dir = path.join(root, 'out');
    const a = artifact();
    writeArtifact(dir, a);
    fs.writeFileSync(path.join(dir, 'kernels', 'k999_old.wgsl'), ''); // as an earlier compile's kernel...
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    // ...listed by that compile's manifest (format version 1 had no file hashes): still an rhc artifact.
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, version: 1, files: undefined, defaults: undefined, kernels: [...m.kernels, 'k999_old.wgsl'] }));
    for (const f of ['model.mjs', 'model.d.mts']) fs.rmSync(path.join(dir, f)); // (version 3's, unknown to version 1)
    writeArtifact(dir, a);
    expect(files(dir)).toEqual([...a.files.keys()].map((f) => f.split('/').join(path.sep)).sort());
    expect(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8')).toBe(text(a, 'plan.json'));
    expect(fs.readdirSync(root)).toEqual(['out']); // no temporary directory, no lock
  });

  it('refuses a directory holding files that are not an artifact\'s, naming one, unless forced', () => {
    const a = artifact();
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'README.md': 'my notes' }, /holds README\.md, which is not a file of an rhc WebGPU artifact \(it has no manifest\.json\)/],
      [{ 'kernels/mine.wgsl': '@compute fn main() {}' }, /holds kernels\/mine\.wgsl/],
      [{ 'manifest.json': '{"name": "my app"}', 'index.html': '' }, /holds index\.html, .*\(its manifest\.json is not one of an rhc WebGPU artifact\)/],
    ];
    for (const [mine, message] of cases) {
      const dir = tempDir();
      for (const [rel, body] of Object.entries(mine)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), body);
      }
      expect(() => writeArtifact(dir, a)).toThrow(message);
      expect(() => writeArtifact(dir, a)).toThrow(/--force to replace it whole/);
      for (const [rel, body] of Object.entries(mine)) expect(fs.readFileSync(path.join(dir, rel), 'utf8')).toBe(body); // untouched
      writeArtifact(dir, a, { force: true });
      expect(files(dir)).toEqual([...a.files.keys()].map((f) => f.split('/').join(path.sep)).sort());
    }
    // A user's file beside an artifact is foreign too.
    const dir = tempDir();
    writeArtifact(dir, a);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(() => writeArtifact(dir, a)).toThrow(/holds notes\.txt, which is not a file of an rhc WebGPU artifact;/);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('the committed generated/<spec>/ artifacts may be recompiled in place without --force', () => {
    for (const name of SEED_ARTIFACTS) expect(() => checkArtifactTarget(path.join(ROOT, 'generated', name)), name).not.toThrow();
  });
});

describe('a buffer too large for u32 indexing', () => {
  const graph = (d: Record<string, number>) => lowerSpec(SPEC, Object.entries({ n_layer: 1, n_embd: 16, n_head: 2, vocab_size: 64, n_positions: 16, ...d }).map(([k, v]) => set(`${k}=${v}`)));
  const build = (d: Record<string, number>, maxBatch?: number) => rhcErrorOf(() => buildArtifact(graph(d), { specFile: SPEC, maxBatch })).message;

  it('is a user error naming the tensor, its size, the limit and what to lower', () => {
    // wpe is [n_positions, n_embd]: 10^9 * 16 elements.
    expect(build({ n_positions: 1e9 })).toBe(
      "WebGPU: tensor 'transformer.wpe.weight' [1000000000, 16] has 16,000,000,000 elements, more than the 4,294,967,295 a kernel can index (u32); lower n_positions (1000000000) or n_embd (16)",
    );
    // 2^16 batches of 2^10 positions of 64 (4 * n_embd in the MLP) = 2^32 elements, one too many.
    expect(build({ n_positions: 1024 }, 65536)).toMatch(
      /^WebGPU: buffer '[^']+' \[B, S, 64\] at B=65536, S=1024 has 4,294,967,296 elements, more than the 4,294,967,295 a kernel can index \(u32\); lower --max-batch \(65536\) or n_positions \(1024\)/,
    );
  });
});

describe('names from a spec cannot inject code', () => {
  const EVIL = `x"; globalThis.pwned = 1; //\n*/ } @compute fn evil() {} /*`;
  // Exactly the import and the class: nothing a name says became a statement.
  const MODULE_SHAPE = ['ImportDeclaration', 'ClassDeclaration'];
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
    });
    expect(typeErrors(src)).toEqual([]);
    expect(statementKinds(src)).toEqual(MODULE_SHAPE);
    const file = new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', src);
    const cls = file.getClasses()[0];
    expect(cls.getStaticPropertyOrThrow('specName').getFirstDescendantByKindOrThrow(SyntaxKind.StringLiteral).getLiteralValue()).toBe(EVIL);
    expect(cls.getMethods().map((m) => m.getName())).toEqual(['load', 'forward', 'generate', 'decoder', 'destroy']);
  });

  it('class names never collide with what the module imports, and typecheck for hostile model names', () => {
    expect(classNameFor('web_gpu')).toBe('RhcWebGpuModel'); // not the imported WebGpuModel (TS2440)
    expect(classNameFor('webGpu')).toBe('RhcWebGpuModel');
    const names = ['web_gpu', 'WEB_GPU', 'acquire_device', 'object', 'constructor', 'promise', 'prototype', '__proto__', 'gpu_context', 'decoder', 'x'.repeat(200), 'Gp_Norm', 'gp_norm', '123', '___', 'модель'];
    for (const model of names) {
      const src = generateModelModule({ spec: model, specPath: `${model}.rh`, model, className: classNameFor(model), config: { vocab_size: 64, n_positions: 16, [model]: 1, constructor: 2, toString: 4 } });
      expect(typeErrors(src), model).toEqual([]);
      expect(statementKinds(src), model).toEqual(MODULE_SHAPE);
    }
  });

  it('a config key __proto__ stays a key of the generated config, not its prototype', async () => {
    const config: Record<string, number> = { vocab_size: 64, n_positions: 16 };
    Object.defineProperty(config, '__proto__', { value: 7, enumerable: true });
    const src = generateModelModule({ spec: 's', specPath: 's.rh', model: 'm', className: 'MModel', config });
    expect(typeErrors(src)).toEqual([]);
    const init = new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', src).getClasses()[0].getStaticPropertyOrThrow('config').getFirstDescendantByKindOrThrow(SyntaxKind.ObjectLiteralExpression);
    const value = new Function(`return ${init.getText()};`)() as Record<string, unknown>;
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(value.__proto__).toBe(7);
  });

  it('refuses a config value or class name that could not be written safely', () => {
    const base = { spec: 's', specPath: 's.rh', model: 'm', className: 'MModel', config: { vocab_size: 64, n_positions: 16 } };
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
    const a = buildArtifact(graph, { specFile: SPEC });
    for (const [rel, contents] of a.files) {
      if (rel.endsWith('.wgsl')) expect(contents, rel).not.toContain('@compute fn evil');
      if (rel.endsWith('.md')) expect(contents, rel).not.toContain(EVIL);
    }
    expect(statementKinds(text(a, 'model.ts'))).toEqual(MODULE_SHAPE);
    expect(statementKinds(text(a, 'model.mjs'))).toEqual(MODULE_SHAPE);
    expect(statementKinds(text(a, 'model.d.mts'))).toEqual(MODULE_SHAPE);
    const m = validateManifest(JSON.parse(text(a, 'manifest.json')), 'manifest.json');
    expect(m.model).toBe(EVIL);
    expect(m.parameters.map((p) => p.name)).toContain(evilParam);
    expect(JSON.stringify(JSON.parse(text(a, 'plan.json')))).toContain(JSON.stringify(evilParam).slice(1, -1));
    expect(typeErrors(text(a, 'model.ts'))).toEqual([]);
  });

  it('a manifest naming kernels outside its directory is rejected', () => {
    const m = JSON.parse(text(buildArtifact(tinyGraph(), { specFile: SPEC }), 'manifest.json'));
    expect(() => validateManifest({ ...m, kernels: ['../../etc/passwd.wgsl'] }, 'm.json')).toThrow(/plain \.wgsl file names/);
  });
});

describe('helpers', () => {
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
    expect(r.stdout).toMatch(/^wrote .*gp-norm\/: \d+ WGSL kernels, plan\.json [\d.]+ KiB, (constants\.bin [\d.]+ KiB, )?model\.ts \+ model\.mjs \+ model\.d\.mts \(class GpNormModel\); [\d.]+ KiB in all, gp_norm at n_layer=1 n_embd=32 n_head=4, -O2\nmemory: weights .*\n$/);
    for (const f of ['manifest.json', 'plan.json', 'model.ts', 'model.mjs', 'model.d.mts', 'README.md']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
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
