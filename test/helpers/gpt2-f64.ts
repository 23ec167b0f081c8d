// An independent float64 oracle for the whole Rotating-Head GPT-2 forward pass, written from
// shared/SEMANTICS.md alone: plain nested loops over Float64Array, nothing from src/.
// Tests compare rhc's logits against it; it must never be "fixed" by reading rhc's code.

export type VariantF64 = 'gpt2-abs' | 'rope' | 'lr' | 'lr-norm' | 'gp' | 'gp-norm';

export interface ModelConfigF64 {
  n_embd: number;
  n_layer: number;
  n_head: number;
  vocab_size: number;
  n_positions: number;
  layer_norm_epsilon: number;
  variant: VariantF64;
  /** GP and standard RoPE only; default 10000 */
  base_frequency?: number;
  /** the MLP's activation by config.json's name; default gelu_new */
  activation_function?: ActivationF64;
}

/** The eps of the frequency LayerNorm (torch.nn.LayerNorm's default), whatever the config says. */
export const FREQ_NORM_EPS = 1e-5;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function geluNewF64(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/**
 * erf by Romberg integration of (2/sqrt(pi)) e^(-t^2) over [0, x]: slow and plain, and
 * nothing like rhc's. Within a few 1e-16 of erf (erfc(6) = 2e-17, so erf is 1 beyond 6).
 */
export function erfF64(x: number): number {
  if (x < 0) return -erfF64(-x);
  if (x >= 6) return 1;
  const f = (t: number) => (2 / Math.sqrt(Math.PI)) * Math.exp(-t * t);
  let prev = [(x / 2) * (f(0) + f(x))];
  for (let k = 1; k <= 16; k++) {
    // trapezoid rule with 2^k panels, then Richardson extrapolation along the row
    const panels = 2 ** (k - 1);
    const h = x / panels;
    let mid = 0;
    for (let i = 0; i < panels; i++) mid += f((i + 0.5) * h);
    const row = [(prev[0] + h * mid) / 2];
    for (let j = 1; j <= k; j++) row.push(row[j - 1] + (row[j - 1] - prev[j - 1]) / (4 ** j - 1));
    if (k >= 4 && Math.abs(row[k] - prev[k - 1]) <= 1e-16 * row[k]) return row[k];
    prev = row;
  }
  return prev[prev.length - 1];
}

/** Activation names of Hugging Face's ACT2FN that GPT-2 configs use. */
export type ActivationF64 = 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'gelu' | 'relu' | 'silu' | 'swish' | 'quick_gelu';

/** Each as transformers' activations.py computes it (in float64). */
export const ACTIVATIONS_F64: Readonly<Record<ActivationF64, (x: number) => number>> = {
  gelu_new: geluNewF64,
  gelu_pytorch_tanh: geluNewF64, // torch's gelu(approximate='tanh'): the same formula
  gelu_fast: (x) => 0.5 * x * (1 + Math.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))),
  gelu: (x) => 0.5 * x * (1 + erfF64(x / Math.SQRT2)),
  relu: (x) => (x > 0 ? x : 0),
  silu: (x) => x / (1 + Math.exp(-x)),
  swish: (x) => x / (1 + Math.exp(-x)),
  quick_gelu: (x) => x / (1 + Math.exp(-1.702 * x)),
};

/** LayerNorm of one row (biased variance), written to out[outOff..]. */
export function layerNormRowF64(
  x: ArrayLike<number>,
  xOff: number,
  n: number,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  eps: number,
  out: Float64Array,
  outOff: number,
): void {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[xOff + i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = x[xOff + i] - mean;
    v += d * d;
  }
  v /= n;
  const inv = 1 / Math.sqrt(v + eps);
  for (let i = 0; i < n; i++) out[outOff + i] = (x[xOff + i] - mean) * inv * weight[i] + bias[i];
}

/** LayerNorm over the last axis of a [rows, n] matrix. */
export function layerNormF64(x: ArrayLike<number>, rows: number, n: number, weight: ArrayLike<number>, bias: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) layerNormRowF64(x, r * n, n, weight, bias, eps, out, r * n);
  return out;
}

/** Standard RoPE: f[h, i] = base^(-2i/D), the same for every head. [H, D/2] row-major. */
export function ropeFrequenciesF64(H: number, D: number, base = 10000): Float64Array {
  const half = D / 2;
  const f = new Float64Array(H * half);
  for (let h = 0; h < H; h++) for (let i = 0; i < half; i++) f[h * half + i] = Math.pow(base, -(2 * i) / D);
  return f;
}

/** GP: f[h, i] = exp(linspace(0, 1, H))[h] * base^(-2i/D). [H, D/2] row-major. */
export function gpFrequenciesF64(H: number, D: number, base = 10000): Float64Array {
  const half = D / 2;
  const f = new Float64Array(H * half);
  for (let h = 0; h < H; h++) {
    const t = H === 1 ? 0 : h / (H - 1); // linspace(0, 1, H)[h]
    const scale = Math.exp(t);
    for (let i = 0; i < half; i++) f[h * half + i] = scale * Math.pow(base, -(2 * i) / D);
  }
  return f;
}

/** Rotates interleaved pairs (x[2i], x[2i+1]) by angles[i]. */
export function rotatePairsF64(x: ArrayLike<number>, angles: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length / 2; i++) {
    const c = Math.cos(angles[i]);
    const s = Math.sin(angles[i]);
    const a = x[2 * i];
    const b = x[2 * i + 1];
    out[2 * i] = a * c - b * s;
    out[2 * i + 1] = a * s + b * c;
  }
  return out;
}

function need(weights: ReadonlyMap<string, ArrayLike<number>>, name: string): ArrayLike<number> {
  const w = weights.get(name);
  if (!w) throw new Error(`gpt2ForwardF64: missing weight '${name}'`);
  return w;
}

/**
 * The frequency table [H, D/2] that multiplies the position in layer `layer`, after the
 * optional LayerNorm; undefined for plain GPT-2.
 */
export function frequencyTableF64(weights: ReadonlyMap<string, ArrayLike<number>>, cfg: ModelConfigF64, layer: number): Float64Array | undefined {
  const H = cfg.n_head;
  const D = cfg.n_embd / cfg.n_head;
  const half = D / 2;
  const base = cfg.base_frequency ?? 10000;
  const p = `transformer.h.${layer}.attn.rope`;
  let f: Float64Array;
  switch (cfg.variant) {
    case 'gpt2-abs':
      return undefined;
    case 'rope':
      return ropeFrequenciesF64(H, D, base);
    case 'gp':
    case 'gp-norm':
      f = gpFrequenciesF64(H, D, base);
      break;
    case 'lr':
    case 'lr-norm':
      f = Float64Array.from(need(weights, `${p}.frequencies`));
      if (f.length !== H * half) throw new Error(`gpt2ForwardF64: ${p}.frequencies has ${f.length} values, expected ${H}x${half}`);
      break;
  }
  if (cfg.variant === 'gp-norm' || cfg.variant === 'lr-norm') {
    f = layerNormF64(f, H, half, need(weights, `${p}.layer_norm.weight`), need(weights, `${p}.layer_norm.bias`), FREQ_NORM_EPS);
  }
  return f;
}

/** y[r, :] = x[r, :] @ W + b with W stored [nIn, nOut] (GPT-2's Conv1D). */
function conv1d(x: Float64Array, rows: number, nIn: number, nOut: number, W: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows * nOut);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < nOut; o++) y[r * nOut + o] = b[o];
    for (let i = 0; i < nIn; i++) {
      const xv = x[r * nIn + i];
      if (xv === 0) continue;
      const wRow = i * nOut;
      for (let o = 0; o < nOut; o++) y[r * nOut + o] += xv * W[wRow + o];
    }
  }
  return y;
}

/**
 * Logits [T, vocab] (row-major) of one sequence. `positionOffset` is the absolute position of
 * ids[0] (for both wpe and the RoPE angle).
 */
export function gpt2ForwardF64(
  weights: ReadonlyMap<string, ArrayLike<number>>,
  cfg: ModelConfigF64,
  ids: readonly number[],
  positionOffset = 0,
): Float64Array {
  const E = cfg.n_embd;
  const H = cfg.n_head;
  const D = E / H;
  if (!Number.isInteger(D)) throw new Error(`gpt2ForwardF64: n_embd ${E} not divisible by n_head ${H}`);
  const half = D / 2;
  const V = cfg.vocab_size;
  const T = ids.length;
  const eps = cfg.layer_norm_epsilon;

  const wte = need(weights, 'transformer.wte.weight');
  const wpe = need(weights, 'transformer.wpe.weight');

  // h0 = wte[ids] + wpe[positions]
  let x = new Float64Array(T * E);
  for (let t = 0; t < T; t++) {
    const id = ids[t];
    const pos = t + positionOffset;
    if (id < 0 || id >= V) throw new Error(`gpt2ForwardF64: id ${id} outside vocab ${V}`);
    if (pos >= cfg.n_positions) throw new Error(`gpt2ForwardF64: position ${pos} >= n_positions`);
    for (let e = 0; e < E; e++) x[t * E + e] = wte[id * E + e] + wpe[pos * E + e];
  }

  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}`;
    // ---- attention
    const a = layerNormF64(x, T, E, need(weights, `${p}.ln_1.weight`), need(weights, `${p}.ln_1.bias`), eps);
    const qkv = conv1d(a, T, E, 3 * E, need(weights, `${p}.attn.c_attn.weight`), need(weights, `${p}.attn.c_attn.bias`));
    // q, k, v as [H, T, D]
    const q = new Float64Array(H * T * D);
    const k = new Float64Array(H * T * D);
    const v = new Float64Array(H * T * D);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        for (let d = 0; d < D; d++) {
          const dst = (h * T + t) * D + d;
          q[dst] = qkv[t * 3 * E + h * D + d];
          k[dst] = qkv[t * 3 * E + E + h * D + d];
          v[dst] = qkv[t * 3 * E + 2 * E + h * D + d];
        }
      }
    }
    const freq = frequencyTableF64(weights, cfg, l);
    if (freq) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const s = t + positionOffset;
          const angles = new Float64Array(half);
          for (let i = 0; i < half; i++) angles[i] = s * freq[h * half + i];
          const off = (h * T + t) * D;
          q.set(rotatePairsF64(q.subarray(off, off + D), angles), off);
          k.set(rotatePairsF64(k.subarray(off, off + D), angles), off);
        }
      }
    }
    // causal softmax attention, merged back to [T, E]
    const merged = new Float64Array(T * E);
    const scale = 1 / Math.sqrt(D);
    const scores = new Float64Array(T);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        let max = -Infinity;
        for (let u = 0; u <= t; u++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(h * T + t) * D + d] * k[(h * T + u) * D + d];
          scores[u] = dot * scale;
          if (scores[u] > max) max = scores[u];
        }
        let sum = 0;
        for (let u = 0; u <= t; u++) {
          scores[u] = Math.exp(scores[u] - max);
          sum += scores[u];
        }
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let u = 0; u <= t; u++) acc += scores[u] * v[(h * T + u) * D + d];
          merged[t * E + h * D + d] = acc / sum;
        }
      }
    }
    const attnOut = conv1d(merged, T, E, E, need(weights, `${p}.attn.c_proj.weight`), need(weights, `${p}.attn.c_proj.bias`));
    const x1 = new Float64Array(T * E);
    for (let j = 0; j < T * E; j++) x1[j] = x[j] + attnOut[j];
    // ---- MLP
    const m = layerNormF64(x1, T, E, need(weights, `${p}.ln_2.weight`), need(weights, `${p}.ln_2.bias`), eps);
    const hid = conv1d(m, T, E, 4 * E, need(weights, `${p}.mlp.c_fc.weight`), need(weights, `${p}.mlp.c_fc.bias`));
    const act = ACTIVATIONS_F64[cfg.activation_function ?? 'gelu_new'];
    for (let j = 0; j < hid.length; j++) hid[j] = act(hid[j]);
    const mlpOut = conv1d(hid, T, 4 * E, E, need(weights, `${p}.mlp.c_proj.weight`), need(weights, `${p}.mlp.c_proj.bias`));
    x = new Float64Array(T * E);
    for (let j = 0; j < T * E; j++) x[j] = x1[j] + mlpOut[j];
  }

  const hf = layerNormF64(x, T, E, need(weights, 'transformer.ln_f.weight'), need(weights, 'transformer.ln_f.bias'), eps);
  // tied head: logits = ln_f(x) @ wte^T
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    for (let w = 0; w < V; w++) {
      let acc = 0;
      for (let e = 0; e < E; e++) acc += hf[t * E + e] * wte[w * E + e];
      logits[t * V + w] = acc;
    }
  }
  return logits;
}

/** max |a - b| / max |b|: the relative error measure the model tests use. */
export function relMaxDiff(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new Error(`relMaxDiff: lengths ${a.length} vs ${ref.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(a[i] - ref[i]);
    if (!(d <= diff)) diff = d; // NaN propagates as the max
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / scale;
}
