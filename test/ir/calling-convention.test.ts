import { describe, expect, it } from 'vitest';
import {
  IDS_INPUT, LOGITS_OUTPUT, ONNX_IDS_INPUT, POSITIONS_INPUT,
  parsePast, parsePresent, pastName, presentFor, presentName,
} from '../../src/ir/calling-convention.ts';

describe('calling convention', () => {
  it('spells the boundary as Hugging Face / Optimum do', () => {
    expect([IDS_INPUT, POSITIONS_INPUT, LOGITS_OUTPUT, ONNX_IDS_INPUT]).toEqual(['ids', 'pos', 'logits', 'input_ids']);
    expect(pastName(0, 'key')).toBe('past_key_values.0.key');
    expect(pastName(11, 'value')).toBe('past_key_values.11.value');
    expect(presentName(3, 'key')).toBe('present.3.key');
    expect(presentFor('past_key_values.7.value')).toBe('present.7.value');
  });

  it('parses what it builds, and builds what it parses', () => {
    for (const layer of [0, 1, 9, 10, 47, 123456789])
      for (const kind of ['key', 'value'] as const) {
        expect(parsePast(pastName(layer, kind))).toEqual({ layer, kind });
        expect(parsePresent(presentName(layer, kind))).toEqual({ layer, kind });
        expect(pastName(layer, kind)).toBe(`past_key_values.${layer}.${kind}`);
      }
  });

  it('rejects near-misses, including leading zeros (layer numbers are canonical decimal)', () => {
    for (const name of [
      'past_key_values.x.key', 'past_key_values.01.key', 'past_key_values.00.value', 'past_key_values.-1.key',
      'past_key_values.1.keys', 'past_key_values.1.Key', 'past_key_values..key', 'past_key_values.1',
      'past_key_values.1.key ', ' past_key_values.1.key', 'past_key_values.1.key\n', 'past_key_values.1.5.key',
      'past_key_values_1.key', 'present.1.key', 'past_key_values.1e3.key', 'past_key_values.1234567890.key',
    ])
      expect(parsePast(name), name).toBeUndefined();
    for (const name of ['present.1.keys', 'present.01.value', 'present.x.key', 'past_key_values.1.key', 'presents.1.key', 'present.1'])
      expect(parsePresent(name), name).toBeUndefined();
    expect(presentFor('present.1.key')).toBeUndefined();
    expect(parsePast('ids')).toBeUndefined();
    expect(parsePresent('logits')).toBeUndefined();
  });

  it('refuses to build a name for a layer that is not a non-negative integer', () => {
    for (const layer of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => pastName(layer, 'key')).toThrow(/non-negative integer/);
  });
});
