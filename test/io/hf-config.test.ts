// config.json keys that would change what GPT-2 computes: only the value rhc computes is accepted.

import { describe, expect, it } from 'vitest';
import { parseHfConfig } from '../../src/io/hf-config.ts';

const BASE = { n_embd: 16, n_layer: 1, n_head: 2, vocab_size: 64 };

describe('parseHfConfig: architecture keys', () => {
  it("accepts GPT2Config's defaults written out, as save_pretrained writes them", () => {
    const c = parseHfConfig({ ...BASE, scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, tie_word_embeddings: true, add_cross_attention: false, n_inner: null }, 'ck/config.json');
    expect(c.n_embd).toBe(16);
    expect(parseHfConfig({ ...BASE, n_inner: 64 }, 'ck/config.json').n_layer).toBe(1);
  });

  it.each([
    ['scale_attn_weights', false, 'ck/config.json: "scale_attn_weights": false is not supported; rhc computes scale_attn_weights=true (attention scores are scaled by 1/sqrt(head size))'],
    ['scale_attn_by_inverse_layer_idx', true, 'ck/config.json: "scale_attn_by_inverse_layer_idx": true is not supported; rhc computes scale_attn_by_inverse_layer_idx=false (no layer scales its attention scores by 1/(layer index + 1))'],
    ['tie_word_embeddings', false, 'ck/config.json: "tie_word_embeddings": false is not supported; rhc computes tie_word_embeddings=true (the output head is the token embedding (lm_head tied to wte))'],
    ['add_cross_attention', true, 'ck/config.json: "add_cross_attention": true is not supported; rhc computes add_cross_attention=false (the model has no cross-attention layers)'],
    ['n_inner', 32, 'ck/config.json: "n_inner": 32 is not supported; rhc\'s GPT-2 MLP is 4 * n_embd = 64 wide (use null)'],
  ])('refuses %s = %s, naming the key and what rhc computes', (key, value, message) => {
    expect(() => parseHfConfig({ ...BASE, [key]: value }, 'ck/config.json')).toThrow(message);
  });
});
