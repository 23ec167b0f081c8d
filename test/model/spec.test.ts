// Which spec a checkpoint's config.json selects.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { specForConfig } from '../../src/model/spec.ts';
import { ROOT, writeFiles } from '../helpers/rh.ts';
import { rhcErrorOf } from '../helpers/errors.ts';

const bundled = (name: string) => path.join(ROOT, 'spec', `${name}.rh`);

describe('specForConfig', () => {
  it('maps rotatinghead and use_norm to the seed specs (use_norm means nothing without a rotating head)', () => {
    expect(specForConfig({ rotatinghead: null, use_norm: false }, '.')).toBe(bundled('gpt2-abs'));
    expect(specForConfig({ rotatinghead: null, use_norm: true }, '.')).toBe(bundled('gpt2-abs'));
    expect(specForConfig({}, '.')).toBe(bundled('gpt2-abs'));
    expect(specForConfig({ rotatinghead: 'lr', use_norm: false }, '.')).toBe(bundled('lr'));
    expect(specForConfig({ rotatinghead: 'lr', use_norm: true }, '.')).toBe(bundled('lr-norm'));
    expect(specForConfig({ rotatinghead: 'gp' }, '.')).toBe(bundled('gp'));
    expect(specForConfig({ rotatinghead: 'gp', use_norm: true }, '.')).toBe(bundled('gp-norm'));
  });

  it('prefers rhc_spec: next to the checkpoint, then bundled', () => {
    const dir = writeFiles({ 'mine.rh': 'import "gpt2.rh"\n' });
    expect(specForConfig({ rhc_spec: 'mine.rh', rotatinghead: 'gp' }, dir)).toBe(path.join(dir, 'mine.rh'));
    expect(specForConfig({ rhc_spec: 'rope' }, dir)).toBe(bundled('rope'));
    expect(rhcErrorOf(() => specForConfig({ rhc_spec: 'nope' }, dir)).message).toContain('rhc_spec "nope" is neither next to the checkpoint nor in rhc\'s spec library');
  });

  it('names an unknown rotatinghead', () => {
    expect(rhcErrorOf(() => specForConfig({ rotatinghead: 'alibi' }, 'ck')).message).toBe('ck/config.json: unknown rotatinghead "alibi" (expected "lr", "gp" or null for plain GPT-2)');
  });

  it('takes rhc_spec as a plain file name only: no absolute path, no ../, no sub-folder', () => {
    const outside = writeFiles({ 'evil.rh': 'import "gpt2.rh"\n' });
    const dir = writeFiles({ 'sub/mine.rh': 'import "gpt2.rh"\n' });
    for (const named of [path.join(outside, 'evil.rh'), `../${path.basename(outside)}/evil.rh`, 'sub/mine.rh', '..', 'a\\b.rh']) {
      expect(rhcErrorOf(() => specForConfig({ rhc_spec: named }, dir)).message).toBe(
        `${dir}/config.json: rhc_spec ${JSON.stringify(named)} is a path; it must be a plain file name, of a spec next to the checkpoint or in rhc's spec library`,
      );
    }
  });

  it('refuses an rhc_spec that is a FIFO or a link to /dev/zero, at once', () => {
    const dir = writeFiles({});
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.rh'));
    fs.mkdirSync(path.join(dir, 'folder.rh'));
    expect(rhcErrorOf(() => specForConfig({ rhc_spec: 'zero' }, dir)).message).toBe(`${dir}/config.json: rhc_spec "zero" names ${path.join(dir, 'zero.rh')}, which is a device, not a spec file`);
    expect(rhcErrorOf(() => specForConfig({ rhc_spec: 'folder.rh' }, dir)).message).toContain('which is a directory, not a spec file');
  });
});
