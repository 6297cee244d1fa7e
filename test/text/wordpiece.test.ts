/**
 * The WordPiece tokenizer of the e5-small encoder, on the model's own vocabulary (in the model cache folder,
 * fetched by the global setup): BERT's normalisation and splitting rules, and pieces that spell every dataset text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { e5SmallDir } from '../../src/cascade/index.js';
import { MODEL_CACHE_DIR } from '../helpers/test-config.js';
import { WordPieceTokenizer, type WordPieceJson } from '../../src/text/index.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { EMOTIONS, MODERATION } from '../helpers/paths.js';

let tok: WordPieceTokenizer;
let pieceOf: Map<number, string>;

beforeAll(() => {
  const json = JSON.parse(readFileSync(path.join(e5SmallDir(MODEL_CACHE_DIR), 'e5-small-v2-q-tokenizer.json'), 'utf8')) as WordPieceJson;
  tok = new WordPieceTokenizer(json);
  pieceOf = new Map(Object.entries(json.model.vocab).map(([p, id]) => [id, p]));
});

const pieces = (text: string): string[] => tok.encode(text).map((id) => pieceOf.get(id) ?? '?');

describe('WordPieceTokenizer', () => {
  it('splits a word into its longest vocabulary pieces, continuations marked ##', () => {
    expect(pieces('unaffable')).toEqual(['una', '##ffa', '##ble']);
    expect(pieces('playing football')).toEqual(['playing', 'football']);
  });

  it('lower-cases, strips accents, and makes every punctuation mark a word of its own', () => {
    expect(tok.words('Café, RÉSUMÉ!')).toEqual(['cafe', ',', 'resume', '!']);
    expect(tok.words("don't $5")).toEqual(['don', "'", 't', '$', '5']);
    expect(tok.words('a\u0000b\tc\u200bd')).toEqual(['ab', 'cd']);
  });

  it('puts CJK ideographs apart and gives one [UNK] for a word with no split or over 100 characters', () => {
    expect(tok.words('日本')).toEqual(['日', '本']);
    expect(tok.encode('x'.repeat(101))).toEqual([tok.unk]);
    expect(tok.encode('\u{1F9FF}')).toEqual([tok.unk]);
  });

  it('wraps the pieces in [CLS] … [SEP] and cuts them to the model length', () => {
    const ids = tok.encodeForModel('word '.repeat(300), 128);
    expect(ids).toHaveLength(128);
    expect(ids[0]).toBe(tok.cls);
    expect(ids.at(-1)).toBe(tok.sep);
  });

  it('gives pieces that spell every word of every fixture stream text (or one [UNK] for the word)', () => {
    const texts = [...readLabelledStream(EMOTIONS), ...readLabelledStream(MODERATION)].map((i) => i.text);
    let unknownWords = 0;
    let words = 0;
    for (const text of texts) {
      for (const word of tok.words(text)) {
        words++;
        const ids = tok.encode(word);
        if (ids.length === 1 && ids[0] === tok.unk) {
          unknownWords++;
          continue;
        }
        expect(ids.map((id) => (pieceOf.get(id) ?? '?').replace(/^##/, '')).join('')).toBe(word);
      }
    }
    expect(words).toBeGreaterThan(50_000);
    expect(unknownWords / words).toBeLessThan(0.01);
  });
});
