/**
 * The SentencePiece (unigram) tokenizer of the Universal Sentence Encoder lite: text → piece ids by the
 * highest-scoring segmentation (Viterbi over a trie of the vocabulary's pieces).
 *
 * Ported from the Apache-2.0 tokenizer of @tensorflow-models/universal-sentence-encoder
 * (Copyright 2019 Google LLC), as re-published by @energetic-ai/embeddings. Neither package can be a runtime
 * dependency: the first pins tfjs 3 as a peer, the second loads its own copy of tfjs, which re-registers
 * every kernel of ours. The second is a devDependency: test/text/sentencepiece.test.ts checks that this port
 * gives its ids on every text of both datasets (the model was trained on exactly these ids).
 */

/** [piece, score] pairs; a piece's id is its index. */
export type Vocabulary = ReadonlyArray<readonly [string, number]>;

const SEPARATOR = '\u2581'; // "▁": SentencePiece's word boundary
/** Ids below this are control symbols (<unk> is 0), never matched in text. */
const RESERVED_SYMBOLS = 6;

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Set when a piece ends here. */
  piece?: { length: number; score: number; id: number };
}

function newNode(): TrieNode {
  return { children: new Map() };
}

export class SentencePieceTokenizer {
  private readonly root = newNode();
  private readonly pieceLengths: Int32Array;

  constructor(vocabulary: Vocabulary) {
    this.pieceLengths = new Int32Array(vocabulary.length);
    vocabulary.forEach(([piece], id) => (this.pieceLengths[id] = [...piece].length));
    for (let id = RESERVED_SYMBOLS; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id] as readonly [string, number];
      let node = this.root;
      const symbols = [...piece];
      for (const s of symbols) {
        let next = node.children.get(s);
        if (next === undefined) {
          next = newNode();
          node.children.set(s, next);
        }
        node = next;
      }
      node.piece = { length: symbols.length, score, id };
    }
  }

  /** Piece ids of `text`; consecutive unknown symbols collapse into one <unk> (0). */
  encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    if (normalized.length === 0) return [];
    const symbols = [...(SEPARATOR + normalized.replace(/ /g, SEPARATOR))];
    const n = symbols.length;
    // best[e]: the best score of a segmentation of symbols[0, e); words[e]: the id of its last piece.
    // 0 means "not reached yet", as in the original (scores are log-probabilities, so never exactly 0).
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    // Ending positions are visited in order, so a forward pass over start positions is the same dynamic
    // programme as the original's lattice; ties keep the later candidate, as its `>=` does.
    const lattice: { start: number; length: number; score: number; id: number }[][] = Array.from({ length: n + 1 }, () => []);
    for (let i = 0; i < n; i++) {
      let node = this.root.children.get(symbols[i] as string);
      let matched = false;
      for (let j = i; j < n && node !== undefined; j++) {
        if (node.piece !== undefined) {
          lattice[j + 1]?.push({ start: i, ...node.piece });
          matched = true;
        }
        node = j + 1 < n ? node.children.get(symbols[j + 1] as string) : undefined;
      }
      if (!matched) lattice[i + 1]?.push({ start: i, length: 1, score: 0, id: 0 }); // unknown symbol
    }
    for (let end = 0; end <= n; end++) {
      // The original walks start positions in key order (ascending), candidates in insertion order.
      const candidates = (lattice[end] ?? []).slice().sort((a, b) => a.start - b.start);
      for (const c of candidates) {
        const score = c.score + (best[end - c.length] as number);
        if (best[end] === 0 || score >= (best[end] as number)) {
          best[end] = score;
          words[end] = c.id;
        }
      }
    }
    const reversed: number[] = [];
    for (let at = n; at > 0;) {
      const id = words[at] as number;
      reversed.push(id);
      at -= id === 0 ? 1 : (this.pieceLengths[id] as number);
    }
    const ids: number[] = [];
    let previousUnknown = false;
    for (const id of reversed) {
      if (!(previousUnknown && id === 0)) ids.push(id);
      previousUnknown = id === 0;
    }
    return ids.reverse();
  }
}
