// Which .rh spec a checkpoint needs. The seed variants map to config.json keys as
// SEMANTICS.md fixes them (rotatinghead, use_norm); any other spec (a user's new variant)
// is recorded by name in config.json's `rhc_spec` key, which wins when present.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../errors.ts';
import { kindOf } from '../io/files.ts';
import { BUNDLED_SPEC_DIR } from '../dsl/loader.ts';
import { selectorMismatch } from './selects.ts';

export interface SeedConfigKeys {
  rotatinghead: 'lr' | 'gp' | null;
  use_norm: boolean;
}

/** The seed specs and the config.json keys that select them. */
export const SEED_SPECS: Readonly<Record<string, SeedConfigKeys>> = {
  'gpt2-abs': { rotatinghead: null, use_norm: false },
  lr: { rotatinghead: 'lr', use_norm: false },
  'lr-norm': { rotatinghead: 'lr', use_norm: true },
  gp: { rotatinghead: 'gp', use_norm: false },
  'gp-norm': { rotatinghead: 'gp', use_norm: true },
  // Standard RoPE has no key in the published config; rhc_spec carries it.
  rope: { rotatinghead: null, use_norm: false },
};

export function specName(specFile: string): string {
  return path.basename(specFile).replace(/\.rh$/, '');
}

export function bundledSpec(name: string): string {
  return path.join(BUNDLED_SPEC_DIR, `${name}.rh`);
}

/** The seed spec of this name, if it is one (own keys only: a spec called `constructor.rh` is not a seed). */
function seedKeys(name: string): SeedConfigKeys | undefined {
  return Object.hasOwn(SEED_SPECS, name) ? SEED_SPECS[name] : undefined;
}

/** What a file is, when it is not a regular file (a spec must be one: a FIFO or /dev/zero would never end). */
function notRegular(file: string): string | undefined {
  const st = fs.statSync(file);
  return st.isFile() ? undefined : kindOf(st);
}

/**
 * The spec a checkpoint's config.json asks for: `rhc_spec` (next to the checkpoint, then bundled),
 * else the seed keys. rhc_spec is a plain file name: the spec lives beside the checkpoint, so a
 * path (absolute, or reaching out with `../`) would let a checkpoint read any file as its spec.
 */
export function specForConfig(raw: Record<string, unknown>, modelDir: string): string {
  const where = `${modelDir}/config.json`;
  const named = Object.hasOwn(raw, 'rhc_spec') ? raw.rhc_spec : undefined;
  if (named !== undefined) {
    if (typeof named !== 'string' || !named) throw new RhcError(`${where}: rhc_spec must be a spec name or .rh file name, got ${JSON.stringify(named)}`);
    if (named.includes('/') || named.includes('\\') || named === '.' || named === '..' || named.includes('\0'))
      throw new RhcError(`${where}: rhc_spec ${JSON.stringify(named)} is a path; it must be a plain file name, of a spec next to the checkpoint or in rhc's spec library`);
    const file = named.endsWith('.rh') ? named : `${named}.rh`;
    for (const candidate of [path.resolve(modelDir, file), path.join(BUNDLED_SPEC_DIR, file)]) {
      if (!fs.existsSync(candidate)) continue;
      const kind = notRegular(candidate);
      if (kind) throw new RhcError(`${where}: rhc_spec "${named}" names ${candidate}, which is ${kind}, not a spec file`);
      return candidate;
    }
    throw new RhcError(`${where}: rhc_spec "${named}" is neither next to the checkpoint nor in rhc's spec library`);
  }
  const head = raw.rotatinghead ?? null;
  const norm = raw.use_norm === true;
  if (head !== null && head !== 'lr' && head !== 'gp')
    throw new RhcError(`${where}: unknown rotatinghead ${JSON.stringify(head)} (expected "lr", "gp" or null for plain GPT-2)`);
  const name = head === null ? 'gpt2-abs' : norm ? `${head}-norm` : head;
  return bundledSpec(name);
}

/** config.json keys identifying a spec; a spec outside the seed set is named by rhc_spec. */
export function configKeysForSpec(specFile: string): Record<string, unknown> {
  const name = specName(specFile);
  const seed = seedKeys(name);
  const isBundled = path.resolve(specFile) === bundledSpec(name);
  const keys: Record<string, unknown> = { model_type: 'rotating-head-gpt2', rotatinghead: seed?.rotatinghead ?? null, use_norm: seed?.use_norm ?? false };
  if (!seed || !isBundled || name === 'rope') keys.rhc_spec = isBundled ? name : path.basename(specFile);
  return keys;
}

/** Rejects a checkpoint made for another spec (an lr spec with a gp checkpoint, rope with plain GPT-2). */
export function checkSpecMatchesConfig(specFile: string, raw: Record<string, unknown>, modelDir: string): void {
  const want = configKeysForSpec(specFile);
  const m = selectorMismatch(raw, want);
  if (!m) return;
  const describe = (c: Record<string, unknown>) =>
    c.rhc_spec !== undefined ? `rhc_spec=${JSON.stringify(c.rhc_spec)}` : `rotatinghead=${JSON.stringify(c.rotatinghead ?? null)}, use_norm=${c.use_norm === true}`;
  throw new RhcError(`${modelDir}/config.json describes ${describe(raw)}, but the spec is ${path.basename(specFile)} (${describe(want)})`);
}
