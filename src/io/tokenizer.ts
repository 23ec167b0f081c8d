// GPT-2 byte-level BPE, offline. Encoding is gpt-tokenizer's r50k_base (identical to GPT-2's
// vocabulary). Decoding is done here from the token byte table: gpt-tokenizer's decode() shares
// one streaming TextDecoder across calls, so a call ending mid-character leaks bytes into the
// next call's output — fatal for token-by-token generation.

import { encode as bpeEncode } from 'gpt-tokenizer/encoding/r50k_base';
import ranks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { RhcError } from '../errors.ts';

export const EOT_TOKEN = 50256;
export const EOT_TEXT = '<|endoftext|>';
export const VOCAB_SIZE = 50257;

export interface EncodeOptions {
  /**
   * 'special' (default, as Hugging Face's GPT-2 tokenizer does): `<|endoftext|>` in the text
   * becomes token 50256. 'plain': it is encoded as ordinary characters.
   */
  endOfText?: 'special' | 'plain';
}

const plain = (text: string): number[] => bpeEncode(text, { disallowedSpecial: new Set() });

export function encode(text: string, opts: EncodeOptions = {}): number[] {
  if (opts.endOfText === 'plain') return plain(text);
  // Split here rather than via allowedSpecial: gpt-tokenizer 4.0 only finds a special token at
  // the start of the text (its search regex is sticky), so "a<|endoftext|>b" would come out plain.
  const out: number[] = [];
  text.split(EOT_TEXT).forEach((piece, i) => {
    if (i > 0) out.push(EOT_TOKEN);
    if (piece) out.push(...plain(piece));
  });
  return out;
}

let table: Uint8Array[] | undefined;

function tokenBytes(id: number): Uint8Array {
  if (!table) {
    const utf8 = new TextEncoder();
    table = ranks.map((r) => (typeof r === 'string' ? utf8.encode(r) : Uint8Array.from(r)));
    table[EOT_TOKEN] = utf8.encode(EOT_TEXT);
  }
  if (!Number.isInteger(id) || id < 0 || id >= table.length) {
    throw new RhcError(`token id ${id} is outside the GPT-2 vocabulary (0..${table.length - 1})`);
  }
  return table[id];
}

export function idsToBytes(ids: readonly number[]): Uint8Array {
  const parts = ids.map(tokenBytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Invalid or incomplete UTF-8 becomes U+FFFD, as HF's decode (errors="replace") does. */
export function decode(ids: readonly number[]): string {
  return new TextDecoder('utf-8').decode(idsToBytes(ids));
}

/** Text of the complete characters in `bytes`; a trailing partial UTF-8 sequence is held back. */
function completeText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes, { stream: true });
}

/**
 * The text that token `ids[n-1]` completes: complete characters of ids[0..n) minus those of
 * ids[0..n-1). Concatenating it for n = 1..len gives decode(ids), except that a sequence
 * ending mid-character leaves that character out (decode would show U+FFFD).
 * O(n) per call; use TokenStreamDecoder when streaming long outputs.
 */
export function decodeIncremental(ids: readonly number[], n: number = ids.length): string {
  if (!Number.isInteger(n) || n < 1 || n > ids.length) throw new RhcError(`decodeIncremental: n=${n} must be in 1..${ids.length}`);
  const before = completeText(idsToBytes(ids.slice(0, n - 1)));
  return completeText(idsToBytes(ids.slice(0, n))).slice(before.length);
}

/**
 * Streaming decoder: push tokens one at a time, get back only complete characters. The streaming
 * TextDecoder holds the bytes of a character split across tokens until it completes, and turns
 * bytes that can never form one into U+FFFD at once; a character the stream ends inside is never
 * printed (there is nothing to show for it), so no U+FFFD appears for a cut character.
 */
export class TokenStreamDecoder {
  private decoder = new TextDecoder('utf-8');

  push(id: number): string {
    return this.decoder.decode(tokenBytes(id), { stream: true });
  }

  /** Ends the stream, dropping a character it ended inside; returns the text still to print (none). */
  flush(): string {
    this.decoder = new TextDecoder('utf-8');
    return '';
  }
}
