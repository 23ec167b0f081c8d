// onnxruntime as a bench engine, for any of its packages (onnxruntime-node on the CPU,
// onnxruntime-web's WebGPU EP in the page or in Node): rhc's ONNX export without a past for the
// prefill, with past_key_values for decoding. With `gpuPresent` the present.* outputs stay on the
// GPU and are fed back as the next past, as transformers.js does; logits always come back to the
// CPU. Browser-safe: the module is passed in.

import type { DecodeSession, Engine } from './protocol.ts';

export interface TensorLike {
  readonly data?: unknown;
  getData?(): Promise<unknown>;
  dispose?(): void;
  readonly location?: string;
}

export interface SessionLike {
  run(feeds: Record<string, TensorLike>): Promise<Record<string, TensorLike>>;
  release(): Promise<void>;
}

export interface OrtEngineOptions {
  Tensor: new (type: 'int64' | 'float32', data: BigInt64Array | Float32Array, dims: readonly number[]) => TensorLike;
  plain: () => Promise<SessionLike>;
  withPast: () => Promise<SessionLike>;
  layers: number;
  heads: number;
  headDim: number;
  vocab: number;
}

const past = (i: number, kind: string) => `past_key_values.${i}.${kind}`;
const present = (i: number, kind: string) => `present.${i}.${kind}`;
const KINDS = ['key', 'value'] as const;

async function floats(t: TensorLike): Promise<Float32Array> {
  const data = t.location && t.location !== 'cpu' && t.getData ? await t.getData() : t.data;
  return data as Float32Array;
}

export function ortEngine(o: OrtEngineOptions): Engine {
  let plain: SessionLike | undefined;
  let withPast: SessionLike | undefined;
  const ids = (xs: ArrayLike<number>) => new o.Tensor('int64', BigInt64Array.from(Array.from(xs), (v) => BigInt(v)), [1, xs.length]);
  return {
    async prefill(x) {
      plain ??= await o.plain();
      const out = await plain.run({ input_ids: ids(x) });
      const logits = await floats(out.logits);
      return logits.slice((x.length - 1) * o.vocab, x.length * o.vocab);
    },
    async decoder(): Promise<DecodeSession> {
      withPast ??= await o.withPast();
      const session = withPast;
      let length = 0;
      let cache = new Map<string, TensorLike>();
      const drop = () => cache.forEach((t) => t.dispose?.());
      const zeros = (n: number) => {
        drop();
        cache = new Map();
        for (let i = 0; i < o.layers; i++)
          for (const k of KINDS) cache.set(past(i, k), new o.Tensor('float32', new Float32Array(o.heads * n * o.headDim), [1, o.heads, n, o.headDim]));
      };
      return {
        get length() {
          return length;
        },
        async fill(x) {
          // The step's cost depends on the past's length, not its values: zeros stand in for a prompt.
          length += x.length;
          zeros(length);
        },
        async step(id) {
          const out = await session.run({ input_ids: ids([id]), ...Object.fromEntries(cache) });
          await floats(out.logits);
          drop();
          cache = new Map();
          for (let i = 0; i < o.layers; i++) for (const k of KINDS) cache.set(past(i, k), out[present(i, k)]);
          length++;
        },
        dispose: drop,
      };
    },
    async dispose() {
      await plain?.release();
      await withPast?.release();
    },
  };
}
