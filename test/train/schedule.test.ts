// Learning-rate schedules against values worked out by hand from Hugging Face's definitions
// (get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup, get_constant_schedule).

import { describe, expect, it } from 'vitest';
import { biasCorrections, learningRate, warmupSteps } from '../../src/train/schedule.ts';

describe('learning-rate schedules', () => {
  it('warmup is ceil(ratio * total)', () => {
    expect(warmupSteps(200, 0.1)).toBe(20);
    expect(warmupSteps(15, 0.1)).toBe(2);
    expect(warmupSteps(10, 0)).toBe(0);
  });
  it('linear: 0 at the first step, the peak after warmup, then down to 0 at the end', () => {
    const s = { name: 'linear' as const, base: 1e-3, totalSteps: 10, warmupSteps: 2 };
    expect([0, 1, 2, 3, 6, 9, 10].map((k) => learningRate(s, k))).toEqual([0, 5e-4, 1e-3, 1e-3 * (7 / 8), 1e-3 * (4 / 8), 1e-3 * (1 / 8), 0]);
  });
  it('cosine: half a cosine from the peak to 0 after warmup', () => {
    const s = { name: 'cosine' as const, base: 2, totalSteps: 12, warmupSteps: 2 };
    expect(learningRate(s, 1)).toBeCloseTo(1, 12);
    expect(learningRate(s, 2)).toBeCloseTo(2, 12);
    expect(learningRate(s, 7)).toBeCloseTo(1, 12); // halfway: cos(pi/2) = 0
    expect(learningRate(s, 12)).toBeCloseTo(0, 12);
  });
  it('constant ignores warmup', () => {
    expect(learningRate({ name: 'constant', base: 3e-4, totalSteps: 10, warmupSteps: 5 }, 0)).toBe(3e-4);
  });
  it("Adam's bias corrections count steps from 1", () => {
    expect(biasCorrections(0.9, 0.999, 0)).toEqual({ biasCorrection1: 1 - 0.9, biasCorrection2: 1 - 0.999 });
    const k1 = biasCorrections(0.9, 0.999, 1);
    expect(k1.biasCorrection1).toBeCloseTo(1 - 0.81, 15);
    expect(k1.biasCorrection2).toBeCloseTo(1 - 0.999 ** 2, 15);
  });
});
