// Learning-rate schedules as Hugging Face's transformers.optimization defines them (the Trainer
// calls scheduler.step() after each optimizer step, so optimizer step k, 0-based, runs at
// lr(k): with warmup the first step runs at lr 0). `warmupSteps` is ceil(ratio * total), as
// TrainingArguments.get_warmup_steps computes it.

export const LR_SCHEDULES = ['linear', 'cosine', 'constant'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

export interface LrSchedule {
  readonly name: LrScheduleName;
  readonly base: number;
  readonly totalSteps: number;
  readonly warmupSteps: number;
}

export function warmupSteps(totalSteps: number, ratio: number): number {
  return Math.ceil(totalSteps * ratio);
}

/** The learning rate of optimizer step `k` (0-based). */
export function learningRate(s: LrSchedule, k: number): number {
  // 'constant' is get_constant_schedule: no warmup (constant_with_warmup would be another name).
  if (s.name === 'constant') return s.base;
  if (k < s.warmupSteps) return (s.base * k) / Math.max(1, s.warmupSteps);
  const progress = (k - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  if (s.name === 'linear') return s.base * Math.max(0, 1 - progress);
  return s.base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Adam's bias corrections at optimizer step k (0-based; PyTorch counts from 1). */
export function biasCorrections(beta1: number, beta2: number, k: number): { biasCorrection1: number; biasCorrection2: number } {
  return { biasCorrection1: 1 - beta1 ** (k + 1), biasCorrection2: 1 - beta2 ** (k + 1) };
}
