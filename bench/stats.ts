// Timing: warm-up runs first (pipelines compiled, caches warm, JIT done), then repeats whose
// median is reported. A time budget stops a slow measurement early, but never below
// MIN_REPEATS, so every reported median is of several runs. Pure, browser-safe.

export const MIN_REPEATS = 3;

export interface Sample {
  /** milliseconds of each timed repeat, in order */
  ms: number[];
  median: number;
  /** warm-up runs done before the timed ones (the first is in `firstMs`) */
  warmup: number;
  /** the first (cold) run, for context only */
  firstMs?: number;
}

export interface Repeats {
  warmup: number;
  repeats: number;
  /** stop adding repeats past MIN_REPEATS once this many ms have been spent timing */
  budgetMs?: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function sample(ms: number[], warmup: number, firstMs?: number): Sample {
  return { ms, median: median(ms), warmup, ...(firstMs !== undefined ? { firstMs } : {}) };
}

/** Runs `fn` warm-up times, then times it `repeats` times (or fewer, see budgetMs). */
export async function measure(fn: () => Promise<unknown> | unknown, r: Repeats): Promise<Sample> {
  let firstMs: number | undefined;
  for (let i = 0; i < r.warmup; i++) {
    const t = performance.now();
    await fn();
    firstMs ??= performance.now() - t;
  }
  const ms: number[] = [];
  let spent = 0;
  for (let i = 0; i < Math.max(r.repeats, 1); i++) {
    if (i >= MIN_REPEATS && r.budgetMs !== undefined && spent > r.budgetMs) break;
    const t = performance.now();
    await fn();
    const dt = performance.now() - t;
    ms.push(dt);
    spent += dt;
  }
  return sample(ms, r.warmup, firstMs);
}
