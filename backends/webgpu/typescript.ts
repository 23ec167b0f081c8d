// The TypeScript module of a WebGPU artifact: a typed class over WebGpuModel for one model
// (`GpNormModel.load(ctx, artifactFiles, checkpoint)`, `forward(ids)`, `generate(prompt)`),
// printed from ts-morph structures, and the same as model.mjs + model.d.mts for Node without a
// TypeScript toolchain (.mjs: ES module syntax is read as such whatever the enclosing
// package.json says, and `npm init` now writes "type": "commonjs"). Those come from TypeScript's
// single-file transpilers (milliseconds), not ts-morph's emit() (a program and a type check:
// seconds). The module imports rhc's runtime as the package export 'rhc/webgpu', so it works
// wherever rhc is installed (inside rhc's own tree, that resolves to the sources under the
// `rhc-source` export condition).
//
// Nothing a spec names reaches the output unescaped: the class name is rebuilt from the
// model name's letters and digits, strings are JSON string literals, numbers are checked
// finite, and comment text is reduced to characters that cannot end a comment or a line.

import { createRequire } from 'node:module';
import type * as TsMorph from 'ts-morph';
import type { ClassDeclarationStructure, ImportDeclarationStructure } from 'ts-morph';

// ts-morph (CommonJS, with TypeScript inside: 13 MB of JavaScript) is required when a module is
// generated, not imported: only `compile --target webgpu` pays for it, and require() skips the
// scan for export names that Node's ESM import of a CommonJS package makes (~0.3 s more).
// Where rhc is bundled (bench/device/pack.sh), `require` exists and esbuild bundles the package
// named in the call; Node's ES modules have no `require`, hence createRequire.
const tsMorph = (): typeof TsMorph => (typeof require === 'function' ? require('ts-morph') : createRequire(import.meta.url)('ts-morph')) as typeof TsMorph;

export interface ModuleInput {
  /** the spec file's name without .rh */
  spec: string;
  /** how to name the spec file in the header's recompile hint (spec/gp-norm.rh) */
  specPath: string;
  /** the model's name in the spec */
  model: string;
  className: string;
  config: Readonly<Record<string, number | boolean | string>>;
}

/** Where the generated module imports rhc's runtime from: the package's browser- and Node-safe export. */
export const RUNTIME_MODULE = 'rhc/webgpu';

/** What the module imports from RUNTIME_MODULE (`type X`: a type only, gone from model.mjs). */
const IMPORTS: readonly string[] = [
  'generateTokens',
  'idBatch',
  'loadArtifactModel',
  'type ArtifactFiles',
  'type CheckpointSource',
  'type Decoder',
  'type GenerateOptions',
  'type GpuContext',
  'type WebGpuModel',
];

/**
 * Names the class must not take: every name the module imports (`model web_gpu` would declare
 * a class WebGpuModel beside the imported one, TS2440), and the globals its body refers to.
 * Globals it does not refer to may be shadowed by a module-scoped class harmlessly.
 */
const TAKEN = new Set([...IMPORTS.map((n) => n.replace(/^type /, '')), 'GPUDevice', 'Promise', 'Partial', 'Float32Array']);

/**
 * `gp_norm` -> `GpNormModel`: a PascalCase identifier made only of the name's ASCII letters and
 * digits; prefixed with `Rhc` when it would start with a digit or collide with a name the module uses.
 */
export function classNameFor(modelName: string): string {
  const words = modelName.split(/[^A-Za-z0-9]+/).filter(Boolean);
  let base = words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  if (!/^[A-Za-z]/.test(base)) base = `Rhc${base}`;
  let name = `${base}Model`;
  if (TAKEN.has(name)) name = `Rhc${name}`;
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name) || TAKEN.has(name)) throw new Error(`internal: class name '${name}' is not a safe identifier`);
  return name;
}

/** Text safe inside // and /** comments: printable ASCII only (no line breaks), no '*' (no closing '*' + '/'). */
export function commentText(s: string): string {
  return s.replace(/[^ -~]|\*/g, '_');
}

/** A TypeScript literal for a config value; a non-finite number cannot be written and is refused. */
function literal(v: number | boolean | string): string {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`cannot write the non-finite config value ${v} into TypeScript`);
  return JSON.stringify(v);
}

/**
 * A property key: a plain identifier as is, anything else quoted. `__proto__`, plain or quoted,
 * would set the object's prototype in a literal instead of naming a property: it is computed.
 */
function key(k: string): string {
  if (k === '__proto__') return `[${JSON.stringify(k)}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k);
}

function imports(): ImportDeclarationStructure {
  const { StructureKind } = tsMorph();
  return { kind: StructureKind.ImportDeclaration, moduleSpecifier: RUNTIME_MODULE, namedImports: [...IMPORTS] };
}

function modelClass(m: ModuleInput, vocab: number, positions: number): ClassDeclarationStructure {
  const { Scope, StructureKind } = tsMorph();
  const C = m.className;
  const config = `{\n${Object.entries(m.config).map(([k, v]) => `${key(k)}: ${literal(v)},`).join('\n')}\n} as const`;
  const what = commentText(`${m.model} (spec ${m.spec})`);
  const staticProp = (name: string, initializer: string, doc: string) => ({ name, isStatic: true, isReadonly: true, initializer, docs: [doc] });
  return {
    kind: StructureKind.Class,
    name: C,
    isExported: true,
    docs: [`The model ${what} compiled for WebGPU: kernels and plan from this directory, weights from a checkpoint.`],
    properties: [
      staticProp('specName', literal(m.spec), 'The spec this class was generated from (its file name without .rh).'),
      staticProp('modelName', literal(m.model), 'The model\'s name in the spec.'),
      staticProp('config', config, 'The configuration the kernels and plan were compiled for; a checkpoint must match it.'),
      staticProp('vocabSize', literal(vocab), 'Logits per position.'),
      staticProp('maxPositions', literal(positions), 'The most tokens one sequence may hold.'),
    ],
    ctors: [
      {
        scope: Scope.Private,
        parameters: [
          { name: 'ctx', type: 'GpuContext', isReadonly: true, scope: Scope.Private },
          { name: 'runtime', type: 'WebGpuModel', isReadonly: true, scope: Scope.Public },
        ],
      },
    ],
    getAccessors: [{ name: 'device', returnType: 'GPUDevice', docs: ['The WebGPU device the model runs on.'], statements: ['return this.ctx.device;'] }],
    methods: [
      {
        name: 'load',
        isStatic: true,
        isAsync: true,
        docs: [
          'Loads the artifact (manifest, plan, kernels) from `artifact` and weights from `checkpoint`:\n' +
            'a checkpoint directory (config.json + model.safetensors) or tensors by name.\n' +
            'In Node: `nodeFiles(dir)`; in a browser: `fetchFiles(url)`.',
        ],
        parameters: [
          { name: 'ctx', type: 'GpuContext' },
          { name: 'artifact', type: 'ArtifactFiles' },
          { name: 'checkpoint', type: 'CheckpointSource' },
        ],
        returnType: `Promise<${C}>`,
        statements: [
          `const { model } = await loadArtifactModel(ctx, artifact, checkpoint, { spec: ${C}.specName, config: ${C}.config });`,
          `return new ${C}(ctx, model);`,
        ],
      },
      {
        name: 'forward',
        docs: [`Logits [batch, seq, ${vocab}] (C order) of token ids: one sequence, or a batch of equally long ones.`],
        parameters: [{ name: 'ids', type: 'readonly number[] | readonly (readonly number[])[]' }],
        returnType: 'Promise<Float32Array>',
        statements: [`const { ids: flat, batch, seq } = idBatch(ids, ${C}.vocabSize, ${C}.maxPositions);`, 'return this.runtime.forward(flat, batch, seq);'],
      },
      {
        name: 'generate',
        isAsync: true,
        docs: ['Up to `maxNewTokens` (default 20) tokens following `prompt`; greedy unless `temperature` > 0.'],
        parameters: [
          { name: 'prompt', type: 'readonly number[]' },
          { name: 'options', type: 'Partial<GenerateOptions>', initializer: '{}' },
        ],
        returnType: 'Promise<number[]>',
        statements: [
          `idBatch(prompt, ${C}.vocabSize, ${C}.maxPositions); // rejects ids outside the vocabulary`,
          'const decoder = this.runtime.decoder();',
          'const tokens: number[] = [];',
          // One block of text: ts-morph would put blank lines around a try statement.
          [
            'try {',
            '  for await (const id of generateTokens(decoder, prompt, { maxNewTokens: 20, seed: 0, temperature: 0, ...options })) tokens.push(id);',
            '} finally {',
            '  decoder.dispose();',
            '}',
            'return tokens;',
          ].join('\n'),
        ],
      },
      { name: 'decoder', docs: ['An incremental decoder with its own KV cache.'], returnType: 'Decoder', statements: ['return this.runtime.decoder();'] },
      { name: 'destroy', docs: ['Frees the GPU buffers (the device stays).'], returnType: 'void', statements: ['this.runtime.destroy();'] },
    ],
  };
}

/** Source text of model.ts for one compiled model. */
export function generateModelModule(m: ModuleInput): string {
  const vocab = m.config.vocab_size;
  const positions = m.config.n_positions;
  if (typeof vocab !== 'number' || typeof positions !== 'number') throw new Error(`the model's config needs vocab_size and n_positions for the typed class`);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(m.className) || TAKEN.has(m.className)) throw new Error(`internal: class name '${m.className}' is not a safe identifier`);
  const { IndentationText, Project, QuoteKind } = tsMorph();
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Single },
  });
  const header =
    `// Generated by rhc from ${commentText(m.specPath)} (model ${commentText(m.model)}). Do not edit: recompile with\n` +
    `// \`rhc compile ${commentText(m.specPath)} --target webgpu\` (scripts/generate-artifacts.ts regenerates generated/).\n`;
  const file = project.createSourceFile('model.ts', {
    leadingTrivia: header,
    statements: [imports(), modelClass(m, vocab, positions)],
  });
  // ts-morph indents multi-line initializers as continuation lines; the formatter puts them right.
  file.formatText({ indentSize: 2, convertTabsToSpaces: true });
  return file.getFullText();
}

/**
 * model.mjs and model.d.mts of model.ts's text, each from one file alone (transpileModule,
 * transpileDeclaration): no program, no type check. model.ts typechecks against the runtime
 * (test/backends/webgpu/artifact.test.ts), and its declarations need no inference
 * (isolatedDeclarations), so a diagnostic here is a bug in the generator.
 */
export function transpileModelModule(source: string): { js: string; dts: string } {
  const { ts } = tsMorph();
  const compilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 };
  const js = ts.transpileModule(source, { compilerOptions, fileName: 'model.ts', reportDiagnostics: true });
  const dts = ts.transpileDeclaration(source, { compilerOptions: { ...compilerOptions, isolatedDeclarations: true }, fileName: 'model.ts', reportDiagnostics: true });
  const problems = [...(js.diagnostics ?? []), ...(dts.diagnostics ?? [])].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (problems.length > 0) throw new Error(`internal: the generated model.ts does not transpile on its own: ${problems.join('; ')}`);
  // transpileDeclaration drops the file's leading comment, which says where the module came from.
  const header = source.slice(0, source.length - source.replace(/^(\/\/.*\n)+/, '').length);
  return { js: js.outputText, dts: dts.outputText.startsWith(header) ? dts.outputText : header + dts.outputText };
}

/** The artifact's three module files: model.ts, and model.mjs + model.d.mts transpiled from it. */
export interface ModuleFiles {
  ts: string;
  js: string;
  dts: string;
}

/** model.ts of one compiled model, with its model.mjs and model.d.mts. */
export function moduleFiles(m: ModuleInput): ModuleFiles {
  const ts = generateModelModule(m);
  return { ts, ...transpileModelModule(ts) };
}

/** Loads ts-morph (and the TypeScript inside it) now, so that a later moduleFiles() finds it loaded. */
export function preloadTsMorph(): void {
  tsMorph();
}
