/**
 * Text utilities shared across concerns: the hashing used by the featurizer and the cache (one FNV-1a and
 * one murmur finaliser), and the SentencePiece tokenizer of the mid stage's sentence encoder.
 */
export { fnv1a32, fmix32, mixHashes, FNV_PRIME } from './hash.js';
export { SentencePieceTokenizer, type Vocabulary } from './sentencepiece.js';
export { normalizeText } from './normalize.js';
export { WordPieceTokenizer, type WordPieceJson } from './wordpiece.js';
export { wordTokens, WORD_TOKEN_PATTERN } from './word-tokens.js';
