// A checkpoint only runs under the spec its config.json selects, even when another spec has
// the very same tensors (plain GPT-2, standard RoPE and a user's variant all do).

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectorMismatch } from '../../src/model/selects.ts';
import { configKeysForSpec } from '../../src/model/spec.ts';
import { hfConfigFor, lowerSpec } from '../../src/model/model.ts';
import { ROOT, rhc, tempDir } from '../helpers/rh.ts';

const spec = (name: string) => path.join(ROOT, 'spec', `${name}.rh`);

describe('spec selectors', () => {
  it('tells every seed spec from every other', () => {
    const names = ['gpt2-abs', 'rope', 'lr', 'lr-norm', 'gp', 'gp-norm'];
    for (const a of names)
      for (const b of names) {
        const m = selectorMismatch(configKeysForSpec(spec(a)), configKeysForSpec(spec(b)));
        expect(m === undefined, `${a} vs ${b}`).toBe(a === b);
      }
  });

  it('names the key that differs', () => {
    expect(selectorMismatch({ rotatinghead: null }, configKeysForSpec(spec('rope')))).toEqual({ key: 'rhc_spec', have: 'absent', want: '"rope"' });
    expect(selectorMismatch({ rotatinghead: 'gp', use_norm: true }, { rotatinghead: 'gp', use_norm: false })).toEqual({ key: 'use_norm', have: 'true', want: 'false' });
    // a path and a bare name are the same spec
    expect(selectorMismatch({ rhc_spec: 'examples/gp-published.rh' }, { rhc_spec: 'gp-published' })).toBeUndefined();
  });

  it('does not carry a stale rhc_spec into the config of another spec', () => {
    const set = [{ name: 'n_layer', value: 1, origin: '--set', strict: true }];
    const cfg = hfConfigFor(lowerSpec(spec('gpt2-abs'), set), spec('gpt2-abs'), { rhc_spec: 'rope', n_layer: 1 });
    expect(cfg.rhc_spec).toBeUndefined();
    expect(cfg.rotatinghead).toBeNull();
  });

  it('refuses a plain GPT-2 checkpoint for rope and a rope checkpoint for plain GPT-2', () => {
    const dir = tempDir();
    const dims = ['--set', 'n_embd=16', '--set', 'n_head=2', '--set', 'n_layer=1', '--set', 'n_positions=16', '--set', 'vocab_size=50'];
    for (const v of ['gpt2-abs', 'rope']) expect(rhc(['init-weights', `spec/${v}.rh`, '--out', path.join(dir, v), ...dims]).status).toBe(0);
    const asRope = rhc(['compile', 'spec/rope.rh', '--target', 'onnx', '--weights', path.join(dir, 'gpt2-abs'), '-o', path.join(dir, 'a.onnx')]);
    expect(asRope.status).toBe(1);
    expect(asRope.stderr).toContain('config.json describes rotatinghead=null, use_norm=false, but the spec is rope.rh (rhc_spec="rope")');
    const asPlain = rhc(['forward', path.join(dir, 'rope'), '--spec', 'spec/gpt2-abs.rh', '--ids', '1,2', '--out', path.join(dir, 'x.npy')]);
    expect(asPlain.status).toBe(1);
    expect(asPlain.stderr).toContain('config.json describes rhc_spec="rope", but the spec is gpt2-abs.rh (rotatinghead=null, use_norm=false)');
  });
});
