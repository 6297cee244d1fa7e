import { describe, expect, it } from 'vitest';
import { WORD_TOKEN_PATTERN, wordTokens } from '../../src/text/word-tokens.js';

const byPattern = (text: string): string[] => text.match(WORD_TOKEN_PATTERN) ?? [];

/** Deterministic random strings over an alphabet that stresses every rule of the pattern. */
function randomTexts(count: number, seed: number): string[] {
  const alphabet = [..."abzXY09 .,-'’'’é東😀İßΣς٣Ⅻ½𝐀𝟘\t\n", '\ud800', '\udc00', '\u0301'];
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: count }, () => {
    let text = '';
    const length = Math.floor(next() * 30);
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)] as string;
    return text;
  });
}

describe('wordTokens', () => {
  it('splits into runs of letters and digits, keeping inner apostrophes before letters', () => {
    expect(wordTokens("don't stop l’homme 12'ab x'9 it's''s café")).toEqual(["don't", 'stop', 'l’homme', "12'ab", 'x', '9', "it's", 's', 'café']);
  });

  it('reads letters and digits outside the basic plane as one code point, and skips lone surrogates', () => {
    expect(wordTokens('𝐀𝐁 x\ud800y 東京 ٣٤')).toEqual(['𝐀𝐁', 'x', 'y', '東京', '٣٤']);
  });

  it('gives exactly the tokens of the regular expression it replaces, on any text', () => {
    for (const text of randomTexts(20_000, 7)) expect(wordTokens(text), JSON.stringify(text)).toEqual(byPattern(text));
  });

  it('gives no token for empty or token-free text', () => {
    expect(wordTokens('')).toEqual([]);
    expect(wordTokens(' .,-\u0301 ')).toEqual([]);
  });
});
