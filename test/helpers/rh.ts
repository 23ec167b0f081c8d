// Test helpers: write .rh sources into a temp dir and run the checker or the CLI on them.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkFile } from '../../src/dsl/compile.ts';
import { renderDiagnostic } from '../../src/dsl/diagnostics.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-test-'));
}

/** Writes files (name -> text) into a fresh temp dir; returns the dir. */
export function writeFiles(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** Checks `main.rh` among `files`; returns each diagnostic as `line:col: message`. */
export function diagnose(files: Record<string, string>, main = 'main.rh'): string[] {
  const dir = writeFiles(files);
  const r = checkFile(path.join(dir, main));
  return r.diagnostics.map((d) => (d.loc ? `${path.basename(d.loc.file)}:${d.loc.line}:${d.loc.column}: ${d.message}` : d.message));
}

export function renderAll(files: Record<string, string>, main = 'main.rh'): string {
  const dir = writeFiles(files);
  const r = checkFile(path.join(dir, main));
  return r.diagnostics.map((d) => renderDiagnostic(d, r.sources)).join('\n');
}

export function rhc(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/rhc.js'), ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * WikiText-2's valid and test text, beside the project as ../shared/data/wikitext-2 (where a
 * checkout of rhc finds it, README's training example included). Missing, the tests that train
 * on it fail saying where they looked: they are never skipped.
 */
export function wikitextDir(): string {
  const dir = path.resolve(ROOT, '..', 'shared', 'data', 'wikitext-2');
  if (!fs.existsSync(path.join(dir, 'wiki.valid.tokens')))
    throw new Error(`the training tests need WikiText-2 at ${dir} (wiki.valid.tokens, wiki.test.tokens): the project's ../shared/data/wikitext-2`);
  return dir;
}
