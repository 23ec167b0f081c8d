// Which spec a checkpoint's config.json selects.

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
});
