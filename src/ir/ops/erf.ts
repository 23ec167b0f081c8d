// The error function in float64, for the `erf` op's reference semantics (exact GELU is
// 0.5 x (1 + erf(x / sqrt 2))). JavaScript has no Math.erf; this is accurate to a few ulp:
// a series with positive terms for |x| < 2 and a continued fraction for erfc beyond (within
// 4 eps of erf(x), checked against mpmath at 4000 points).

const TWO_OVER_SQRT_PI = 1.1283791670955126;
/** Beyond this, erfc(x) < 2.2e-17, below half an ulp of 1: erf rounds to +-1. */
const SATURATED = 6;
const SERIES_LIMIT = 2;

/**
 * exp(-x^2) without the rounding of x * x: x = hi + lo with hi of 26 bits (Veltkamp's split),
 * so hi * hi is exact and the small rest 2 hi lo + lo^2 is a correction.
 */
function expMinusSquare(x: number): number {
  const c = 134217729 * x; // 2^27 + 1
  const hi = c - (c - x);
  const lo = x - hi;
  return Math.exp(-hi * hi) * Math.exp(-(2 * hi + lo) * lo);
}

/** erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1)): all terms positive, no cancellation. */
function erfSeries(x: number): number {
  const z = 2 * x * x;
  let term = x;
  let sum = x;
  for (let k = 3; term > sum * 1e-17; k += 2) {
    term *= z / k;
    sum += term;
  }
  return TWO_OVER_SQRT_PI * expMinusSquare(x) * sum;
}

/**
 * erfc(x) = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) for x >= 2,
 * evaluated from the tail (backward recurrence is stable); 60 terms converge below an ulp
 * there (nearer 0 it converges too slowly, hence the series).
 */
function erfcContinuedFraction(x: number): number {
  let f = x;
  for (let n = 60; n >= 1; n--) f = x + n / 2 / f;
  return (TWO_OVER_SQRT_PI / 2) * expMinusSquare(x) / f;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a >= SATURATED) return Math.sign(x);
  // odd: erf(-x) = -erf(x), so both branches work on |x|
  return Math.sign(x) * (a < SERIES_LIMIT ? erfSeries(a) : 1 - erfcContinuedFraction(a));
}
