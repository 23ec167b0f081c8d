// rhc as a bench engine: a WebGpuModel (loaded however the caller likes) behind the protocol.
// Browser-safe.

import type { WebGpuModel } from '../rhc-runtime.ts';
import type { DecodeSession, Engine } from './protocol.ts';

export function rhcEngine(model: WebGpuModel, vocab: number): Engine {
  // One decoder serves every first-token run (reset between them): its caches are allocated once.
  let prompter: ReturnType<WebGpuModel['decoder']> | undefined;
  return {
    async prefill(ids) {
      const logits = await model.forward(ids, 1, ids.length);
      return logits.slice((ids.length - 1) * vocab, ids.length * vocab);
    },
    async firstToken(ids) {
      prompter ??= model.decoder();
      prompter.reset();
      return prompter.append(Array.from(ids));
    },
    async decoder(): Promise<DecodeSession> {
      const d = model.decoder();
      return {
        get length() {
          return d.length;
        },
        fill: async (ids) => void (await d.append(Array.from(ids))),
        step: async (id) => void (await d.append([id])),
        dispose: () => d.dispose(),
      };
    },
    dispose() {
      prompter?.dispose();
      model.destroy();
    },
  };
}
