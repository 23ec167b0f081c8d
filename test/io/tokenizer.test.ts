import { describe, expect, it } from 'vitest';
import { RhcError } from '../../src/errors.ts';
import { decode, decodeIncremental, encode, EOT_TOKEN, TokenStreamDecoder } from '../../src/io/tokenizer.ts';

describe('GPT-2 tokenizer', () => {
  it('encodes the reference sentence to the known GPT-2 ids', () => {
    const ids = encode('Hello world, this is GPT-2.');
    expect(ids).toEqual([15496, 995, 11, 428, 318, 402, 11571, 12, 17, 13]);
    expect(decode(ids)).toBe('Hello world, this is GPT-2.');
  });

  it('round trips text with multi-byte characters', () => {
    for (const text of ['héllo 日本 🙂', ' @-@ <unk> = Valkyria Chronicles = \n', '']) {
      expect(decode(encode(text))).toBe(text);
    }
  });

  it('maps <|endoftext|> to 50256 by default, or encodes it as plain text when asked', () => {
    expect(encode('a<|endoftext|>b')).toEqual([64, EOT_TOKEN, 65]);
    expect(encode('<|endoftext|>')).toEqual([EOT_TOKEN]);
    expect(encode('<|endoftext|><|endoftext|>Hello')).toEqual([EOT_TOKEN, EOT_TOKEN, 15496]);
    const plain = encode('<|endoftext|>', { endOfText: 'plain' });
    expect(plain).not.toContain(EOT_TOKEN);
    expect(decode(plain)).toBe('<|endoftext|>');
    expect(decode([EOT_TOKEN])).toBe('<|endoftext|>');
  });

  it('does not leak a partial character from one decode call into the next', () => {
    // 10545 is " " followed by E6, the first byte of 日.
    expect(decode([10545])).toBe(' \uFFFD');
    expect(decode([15496])).toBe('Hello');
  });

  it('decodeIncremental yields only complete characters', () => {
    const text = 'héllo 日本 🙂!';
    const ids = encode(text);
    const parts = ids.map((_, i) => decodeIncremental(ids, i + 1));
    expect(parts.join('')).toBe(text);
    // 日 is E6 97 A5, spread over tokens 10545 (" " E6), 245 (97) and 98 (A5): the first gives
    // just the space, the second nothing, the third the whole character.
    const k = ids.indexOf(10545);
    expect(ids.slice(k, k + 3)).toEqual([10545, 245, 98]);
    expect(parts.slice(k, k + 3)).toEqual([' ', '', '日']);
    expect(parts.every((p) => !p.includes('\uFFFD'))).toBe(true);
  });

  it('TokenStreamDecoder streams the same text', () => {
    const text = 'naïve 日本語 🙂🙂 done';
    const d = new TokenStreamDecoder();
    let out = '';
    for (const id of encode(text)) {
      const piece = d.push(id);
      expect(piece).not.toContain('\uFFFD');
      out += piece;
    }
    expect(out + d.flush()).toBe(text);
    // A stream that ends inside a character (max-new-tokens reached) prints nothing for it.
    const cut = new TokenStreamDecoder();
    expect(cut.push(10545)).toBe(' ');
    expect(cut.flush()).toBe('');
  });

  it('TokenStreamDecoder holds a character split over three tokens, and replaces only bytes that can never complete', () => {
    // 日 is E6 97 A5, which GPT-2's BPE splits over several tokens.
    const ids = encode('日');
    expect(ids.length).toBeGreaterThan(1);
    const d = new TokenStreamDecoder();
    const parts = ids.map((id) => d.push(id));
    expect(parts.slice(0, -1).every((p) => p === '')).toBe(true);
    expect(parts.at(-1)).toBe('日');
    // A lead byte followed by plain ASCII is invalid UTF-8: U+FFFD then the ASCII, as HF's decode gives.
    const bad = new TokenStreamDecoder();
    expect(bad.push(ids[0])).toBe('');
    expect(bad.push(encode('a')[0])).toBe('\uFFFDa');
  });

  it('rejects ids outside the vocabulary with an RhcError', () => {
    for (const bad of [50257, -1, 1.5]) {
      let err: unknown;
      try {
        decode([bad]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RhcError);
      expect((err as Error).message).toContain(`token id ${bad} is outside the GPT-2 vocabulary (0..50256)`);
    }
  });
});
