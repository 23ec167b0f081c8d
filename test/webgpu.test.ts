// rhc/webgpu (src/webgpu.ts) is bundled into pages: every module it reaches at run time, by an
// import, an export ... from, or an import() of a literal, must be free of node: modules and
// Node-only packages. Type-only imports (`import type`, `typeof import('node:fs')`) are erased and
// skipped. The walk parses each file (no type check), following relative imports.

import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as runtime from '../src/webgpu.ts';
import { ROOT } from './helpers/rh.ts';

/** The module specifiers `file` loads at run time. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) out.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Every file reached from `entry` by relative imports, and the bare specifiers they import (with who imports them). */
function importGraph(entry: string): { files: string[]; bare: Map<string, string[]> } {
  const seen = new Set<string>();
  const bare = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier));
      else bare.set(specifier, [...(bare.get(specifier) ?? []), path.relative(ROOT, file)]);
    }
  };
  visit(entry);
  return { files: [...seen].map((f) => path.relative(ROOT, f)).sort(), bare };
}

const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('rhc/webgpu', () => {
  const { files, bare } = importGraph(path.join(ROOT, 'src/webgpu.ts'));

  it('reaches no node: module, Node built-in or Node-only package', () => {
    const builtins = new Set(builtinModules);
    const nodeOnly = [...bare].filter(([s]) => s.startsWith('node:') || builtins.has(packageOf(s)));
    expect(nodeOnly.map(([s, by]) => `${s} (imported by ${by.join(', ')})`)).toEqual([]);
    // The packages a page bundles with it: a new one is a decision, so it is listed here.
    expect([...new Set([...bare.keys()].map(packageOf))].sort()).toEqual(['gpt-tokenizer']);
    // (Dawn, the `webgpu` package, is imported in Node only, through a specifier bundlers cannot see.)
    expect(files).toContain('src/runtime/webgpu/device.ts');
    expect(files).not.toContain('src/runtime/webgpu/node-files.ts');
  });

  it('exports what generated modules and pages use', () => {
    for (const name of ['acquireDevice', 'fetchFiles', 'loadArtifactModel', 'idBatch', 'generateTokens', 'WebGpuModel', 'encode', 'decode', 'TokenStreamDecoder'])
      expect(typeof (runtime as Record<string, unknown>)[name], name).toBe('function');
    expect(runtime.VOCAB_SIZE).toBe(50257);
  });
});
