// WGSL text: literals, the math helpers kernels share, and the one gate through which any
// text from a spec could reach a kernel (safeText). Kernels carry no spec names at all (buffers
// are b0, b1, ..., symbols d0, d1, ...), so identical computations in different layers give
// identical kernel text and compile once; names live in the plan's JSON labels.

import { DTYPES, type DType } from '../../src/ir/dtypes.ts';

/** The element types kernels store and compute in: the IR's (src/ir/dtypes.ts). */
export type Scalar = DType;

/** A dtype's WGSL type: its scalar, or a vec4 of it. */
export function wgslType(dtype: Scalar, lanes: 1 | 4 = 1): string {
  const s = DTYPES[dtype].wgsl;
  return lanes === 4 ? `vec4<${s}>` : s;
}

/** Exact f32 literal: the shortest decimal that rounds to the f32 value. Non-finite values go through bitcast. */
export function f32Literal(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return 'rh_bits(0x7fc00000u)';
  if (f === Infinity) return 'rh_bits(0x7f800000u)';
  if (f === -Infinity) return 'rh_bits(0xff800000u)';
  const text = Object.is(f, -0) ? '-0.0' : String(f);
  const literal = /[.e]/.test(text) ? `${text}f` : `${text}.0f`;
  return f < 0 || Object.is(f, -0) ? `(${literal})` : literal;
}

export function i32Literal(v: number): string {
  const i = v | 0;
  if (i === -2147483648) return '(-2147483647i - 1i)';
  return i < 0 ? `(${i}i)` : `${i}i`;
}

export function u32Literal(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`internal: ${v} is not a u32`);
  return `${v}u`;
}

/** Each dtype's literals (typed over the dtypes, so a new one cannot go without). */
const LITERALS: { readonly [D in Scalar]: (v: number) => string } = { f32: f32Literal, i32: i32Literal };

export function literal(dtype: Scalar, v: number): string {
  return LITERALS[dtype](v);
}

/** Text safe inside a WGSL line comment or a plan label: printable ASCII, no line breaks, bounded. */
export function safeText(text: string, max = 120): string {
  const clean = text.replace(/[^A-Za-z0-9_.,:;=+\-*/%()[\]<>'@^ ]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

/** (2/sqrt(pi)) (-1)^n / (n! (2n+1)): erf(x) = x * sum_n c_n x^(2n); after n = 10 the terms are < 1.3e-9 for |x| < 1. */
const ERF_SERIES: readonly number[] = Array.from({ length: 11 }, (_, n) => {
  let factorial = 1;
  for (let k = 2; k <= n; k++) factorial *= k;
  return ((n % 2 ? -2 : 2) / Math.sqrt(Math.PI)) / (factorial * (2 * n + 1));
});

/** c0 + v * (c1 + v * (...)) as WGSL text. */
function horner(coeffs: readonly number[], v: string): string {
  return coeffs.reduceRight((inner, c, i) => (i === coeffs.length - 1 ? f32Literal(c) : `(${f32Literal(c)} + ${v} * ${inner})`), '');
}

/**
 * Math whose WGSL built-ins are not accurate enough for a 1e-4 comparison on every device:
 * WGSL only promises sin/cos to 2^-11 absolute inside [-pi, pi] (RoPE angles reach
 * n_positions * frequency), tanh may overflow through exp (gpuweb#4458: undefined beyond
 * |x| ~ 88 on some GPUs), and erf has no built-in. Each helper is added to a kernel only
 * when used.
 */
export const MATH_HELPERS: Readonly<Record<string, string>> = {
  rh_bits: `fn rh_bits(b: u32) -> f32 {
  var bits = b; // a var: a constant infinity or NaN is a shader-creation error
  return bitcast<f32>(bits);
}`,
  // Cody-Waite reduction by pi/2 (pi/2 split in three, the first two with trailing zero bits,
  // so j * C1 and j * C2 are exact for |x| < ~10^4), then Cephes' minimax polynomials on
  // [-pi/4, pi/4]: about 1 ulp in f32.
  rh_sincos: `fn rh_sincos(x: f32) -> vec2<f32> {
  let j = round(x * 0.636619772367581343f);
  let r = ((x - j * 1.5703125f) - j * 4.837512969970703125e-4f) - j * 7.54978995489188216e-8f;
  let z = r * r;
  let s = r + r * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
  let c = 1.0f - 0.5f * z + z * z * ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f);
  let q = i32(j) & 3i;
  if (q == 0i) { return vec2<f32>(s, c); }
  if (q == 1i) { return vec2<f32>(c, -s); }
  if (q == 2i) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}`,
  rh_sin: `fn rh_sin(x: f32) -> f32 { return rh_sincos(x).x; }`,
  rh_cos: `fn rh_cos(x: f32) -> f32 { return rh_sincos(x).y; }`,
  // Odd series near 0 (where 1 - e^-2|x| cancels), e^-2|x| elsewhere. The clamp is exact
  // (tanh(10) rounds to 1 in f32) and keeps exp's argument finite: WGSL leaves overflow and
  // infinities undefined, and -2|x| overflows for |x| > 1.7e38.
  rh_tanh: `fn rh_tanh(x0: f32) -> f32 {
  let x = clamp(x0, -10.0f, 10.0f);
  let a = abs(x);
  if (a < 0.125f) {
    let z = x * x;
    return x * (1.0f + z * (-0.333333333f + z * (0.133333333f + z * (-0.0539682540f + z * 0.0218694885f))));
  }
  let e = exp(-2.0f * a);
  return sign(x) * (1.0f - e) / (1.0f + e);
}`,
  // erf: its Maclaurin series below 1 (relative accuracy near 0), Abramowitz & Stegun 7.1.26
  // (|error| <= 1.5e-7) from 1 to 4, and +-1 beyond (erf(4) rounds to 1 in f32). The clamp
  // keeps exp's argument finite, as in rh_tanh.
  rh_erf: `fn rh_erf(x: f32) -> f32 {
  let a = min(abs(x), 4.0f);
  if (a < 1.0f) {
    let z = x * x;
    return x * ${horner(ERF_SERIES, 'z')};
  }
  let t = 1.0f / (1.0f + 0.3275911f * a);
  let p = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  return sign(x) * (1.0f - p * exp(-a * a));
}`,
  // pow as Math.pow: negative bases with integral exponents allowed (WGSL's pow is undefined there).
  rh_pow: `fn rh_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0f) { return 1.0f; }
  if (a > 0.0f) { return exp2(b * log2(a)); }
  let m = select(rh_bits(0x7f800000u), 0.0f, b > 0.0f);
  if (a == 0.0f) { return m; }
  if (round(b) != b) { return rh_bits(0x7fc00000u); }
  let p = exp2(b * log2(-a));
  return select(p, -p, (i32(b) & 1i) == 1i);
}`,
};

/** Helpers a helper calls, so adding one adds what it needs first. */
export const HELPER_DEPENDENCIES: Readonly<Record<string, readonly string[]>> = {
  rh_sin: ['rh_sincos'],
  rh_cos: ['rh_sincos'],
  rh_pow: ['rh_bits'],
};
