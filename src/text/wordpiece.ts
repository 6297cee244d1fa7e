/**
 * BERT's WordPiece tokenizer (Devlin et al. 2019), as HuggingFace `tokenizers` runs it for an uncased model
 * (BertNormalizer with lowercase, BertPreTokenizer, WordPiece with `##` continuations), read from the
 * model's `tokenizer.json`. The e5-small sentence encoder needs it (src/cascade/onnx-encoder.ts).
 *
 * Steps, in the reference's order: drop NUL, U+FFFD and control characters and turn every whitespace into
 * a space; put spaces around CJK ideographs; lower-case, then strip accents (NFD, drop combining marks);
 * split on whitespace and on every punctuation character (ASCII non-alphanumerics and Unicode P*), each
 * punctuation mark a word of its own; split each word greedily into the longest vocabulary pieces, a word
 * with no split (or longer than 100 characters) becoming one [UNK].
 */

export interface WordPieceJson {
  model: { type: string; vocab: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
}

const CONTROL = /\p{Cc}|\p{Cf}/u;
const WHITESPACE = /\s/u;
const UNICODE_PUNCT = /\p{P}/u;

function isPunctuation(ch: string): boolean {
  const c = ch.codePointAt(0) as number;
  // BERT counts every ASCII non-alphanumeric as punctuation ("$", "^", "`"), Unicode P* beyond ASCII.
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return UNICODE_PUNCT.test(ch);
}

function isCjk(c: number): boolean {
  return (
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) ||
    (c >= 0x2b740 && c <= 0x2b81f) ||
    (c >= 0x2b820 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0x2f800 && c <= 0x2fa1f)
  );
}

export class WordPieceTokenizer {
  readonly cls: number;
  readonly sep: number;
  readonly unk: number;
  private readonly vocab: Map<string, number>;
  private readonly prefix: string;
  private readonly maxWordChars: number;

  constructor(json: WordPieceJson) {
    if (json.model.type !== 'WordPiece') throw new TypeError(`expected a WordPiece tokenizer, got ${json.model.type}`);
    this.vocab = new Map(Object.entries(json.model.vocab));
    this.prefix = json.model.continuing_subword_prefix ?? '##';
    this.maxWordChars = json.model.max_input_chars_per_word ?? 100;
    const id = (token: string): number => {
      const v = this.vocab.get(token);
      if (v === undefined) throw new TypeError(`the vocabulary has no ${token}`);
      return v;
    };
    this.cls = id('[CLS]');
    this.sep = id('[SEP]');
    this.unk = id(json.model.unk_token ?? '[UNK]');
  }

  /** The words after normalisation and pre-tokenisation (before WordPiece). */
  words(text: string): string[] {
    let cleaned = '';
    for (const ch of text) {
      const c = ch.codePointAt(0) as number;
      if (c === 0 || c === 0xfffd) continue;
      if (WHITESPACE.test(ch)) cleaned += ' ';
      else if (CONTROL.test(ch)) continue;
      else if (isCjk(c)) cleaned += ` ${ch} `;
      else cleaned += ch;
    }
    const normalized = cleaned
      .toLowerCase()
      .normalize('NFD')
      .replace(/\p{Mn}/gu, '');
    const words: string[] = [];
    for (const chunk of normalized.split(' ')) {
      let current = '';
      for (const ch of chunk) {
        if (isPunctuation(ch)) {
          if (current !== '') words.push(current);
          words.push(ch);
          current = '';
        } else current += ch;
      }
      if (current !== '') words.push(current);
    }
    return words;
  }

  /** Piece ids of `text` without the special tokens. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const word of this.words(text)) this.pieces(word, ids);
    return ids;
  }

  /** `[CLS] pieces [SEP]`, the pieces cut to fit `maxTokens` in all. */
  encodeForModel(text: string, maxTokens: number): number[] {
    const ids = this.encode(text);
    if (ids.length > maxTokens - 2) ids.length = maxTokens - 2;
    return [this.cls, ...ids, this.sep];
  }

  private pieces(word: string, out: number[]): void {
    const chars = Array.from(word);
    if (chars.length > this.maxWordChars) {
      out.push(this.unk);
      return;
    }
    const start = out.length;
    let from = 0;
    while (from < chars.length) {
      let to = chars.length;
      let found: number | undefined;
      while (from < to) {
        const piece = (from > 0 ? this.prefix : '') + chars.slice(from, to).join('');
        found = this.vocab.get(piece);
        if (found !== undefined) break;
        to--;
      }
      if (found === undefined) {
        out.length = start; // no split: the whole word is one [UNK]
        out.push(this.unk);
        return;
      }
      out.push(found);
      from = to;
    }
  }
}
