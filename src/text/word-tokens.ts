/**
 * The featurizer's word tokens: runs of Unicode letters and digits, with inner apostrophes followed by
 * letters ("don't", "l’homme"): exactly what `/[\p{L}\p{N}]+(?:['’][\p{L}]+)*\/gu` matches, found by a scan
 * over the code units with a class table instead of the regular expression, which took a third of the
 * featurizer's time (`npm run bench:micro`). Property tests hold the two to the same tokens.
 */

/** The pattern the scan reproduces (kept for the tests and for reading). */
export const WORD_TOKEN_PATTERN = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

const UNKNOWN = 0;
const LETTER = 1;
const DIGIT = 2;
const OTHER = 3;
const IS_LETTER = /^\p{L}$/u;
const IS_NUMBER = /^\p{N}$/u;
const APOSTROPHE = 0x27;
const RIGHT_QUOTE = 0x2019;

// Class of each BMP code unit, filled on first sight (surrogates are classed by their pair, never cached).
const BMP_CLASS = new Uint8Array(0x10000);

function classOf(char: string): number {
  return IS_LETTER.test(char) ? LETTER : IS_NUMBER.test(char) ? DIGIT : OTHER;
}

/** Class of the code point at `i` (LETTER, DIGIT or OTHER); a surrogate pair is one code point of width 2. */
function classAt(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit < 0xd800 || unit > 0xdfff) {
    const known = BMP_CLASS[unit] as number;
    if (known !== UNKNOWN) return known;
    const found = classOf(String.fromCharCode(unit));
    BMP_CLASS[unit] = found;
    return found;
  }
  if (unit <= 0xdbff && i + 1 < text.length) {
    const low = text.charCodeAt(i + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return classOf(text.slice(i, i + 2));
  }
  return OTHER; // a lone surrogate
}

/** Code units of the code point at `i`: 2 for a surrogate pair, else 1. */
function widthAt(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit < 0xd800 || unit > 0xdbff || i + 1 >= text.length) return 1;
  const low = text.charCodeAt(i + 1);
  return low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
}

/** The word tokens of `text`, in order (the text is taken as given: lower-case it first if needed). */
export function wordTokens(text: string): string[] {
  const words: string[] = [];
  const length = text.length;
  let i = 0;
  while (i < length) {
    const cls = classAt(text, i);
    if (cls === OTHER) {
      i += widthAt(text, i);
      continue;
    }
    const start = i;
    i += widthAt(text, i);
    while (i < length && classAt(text, i) !== OTHER) i += widthAt(text, i);
    // Apostrophe groups: an apostrophe then one or more letters (digits end the token).
    while (i + 1 < length) {
      const unit = text.charCodeAt(i);
      if ((unit !== APOSTROPHE && unit !== RIGHT_QUOTE) || classAt(text, i + 1) !== LETTER) break;
      i += 1 + widthAt(text, i + 1);
      while (i < length && classAt(text, i) === LETTER) i += widthAt(text, i);
    }
    words.push(text.slice(start, i));
  }
  return words;
}
