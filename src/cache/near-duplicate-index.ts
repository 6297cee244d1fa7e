/**
 * Locality-sensitive hashing over MinHash signatures (banding, Leskovec et al., "Mining of Massive Datasets"
 * ch. 3): texts whose signatures agree on one whole band become candidates, and a candidate is a near
 * duplicate when the exact Jaccard similarity of the shingle sets reaches the threshold. With 16 bands of 4
 * rows, a pair at J = 0.8 is a candidate with probability 1 − (1 − 0.8⁴)¹⁶ ≈ 0.9996.
 */
import { jaccard, MINHASH_SIZE, minhashSignature, shingleHashes } from './minhash.js';

const ROWS_PER_BAND = 4;
const BANDS = MINHASH_SIZE / ROWS_PER_BAND;

interface IndexedText {
  bandKeys: string[];
  shingles: Uint32Array;
}

/** A text prepared for the index: its shingles and band keys within a scope (task + model). */
export interface NearDuplicateProbe {
  shingles: Uint32Array;
  bandKeys: string[];
}

/** In-process near-duplicate index of cache keys. Memory: ~ (shingles × 4 + 16 band keys) bytes per entry. */
export class NearDuplicateIndex {
  private readonly texts = new Map<string, IndexedText>();
  private readonly buckets = new Map<string, Set<string>>();

  /**
   * @param threshold Jaccard similarity at or above which two texts are near duplicates, (0, 1].
   * @param shingleWords Words per shingle. @defaultValue 2
   */
  constructor(
    private readonly threshold: number,
    private readonly shingleWords = 2,
  ) {}

  get size(): number {
    return this.texts.size;
  }

  /** Shingles and band keys of a normalized text in a scope; compute once per item, use for query and add. */
  probe(scope: string, normalizedText: string): NearDuplicateProbe {
    const shingles = shingleHashes(normalizedText, this.shingleWords);
    const signature = minhashSignature(shingles);
    const bandKeys: string[] = [];
    for (let band = 0; band < BANDS; band += 1) {
      const rows = signature.subarray(band * ROWS_PER_BAND, (band + 1) * ROWS_PER_BAND);
      bandKeys.push(`${scope}\u0000${band}:${rows.join(',')}`);
    }
    return { shingles, bandKeys };
  }

  /** Indexes `key` (a cache key) for a probe; replaces an earlier indexing of the same key. */
  add(key: string, probe: NearDuplicateProbe): void {
    this.delete(key);
    this.texts.set(key, { bandKeys: probe.bandKeys, shingles: probe.shingles });
    for (const bandKey of probe.bandKeys) {
      let bucket = this.buckets.get(bandKey);
      if (bucket === undefined) {
        bucket = new Set();
        this.buckets.set(bandKey, bucket);
      }
      bucket.add(key);
    }
  }

  delete(key: string): void {
    const text = this.texts.get(key);
    if (text === undefined) return;
    this.texts.delete(key);
    for (const bandKey of text.bandKeys) {
      const bucket = this.buckets.get(bandKey);
      bucket?.delete(key);
      if (bucket?.size === 0) this.buckets.delete(bandKey);
    }
  }

  /** The most similar indexed key at or above the threshold, with its similarity; `exclude` skips one key. */
  query(probe: NearDuplicateProbe, exclude?: string): { key: string; similarity: number } | undefined {
    let best: { key: string; similarity: number } | undefined;
    const seen = new Set<string>();
    for (const bandKey of probe.bandKeys) {
      for (const key of this.buckets.get(bandKey) ?? []) {
        if (key === exclude || seen.has(key)) continue;
        seen.add(key);
        const text = this.texts.get(key);
        if (text === undefined) continue;
        const similarity = jaccard(probe.shingles, text.shingles);
        if (similarity >= this.threshold && (best === undefined || similarity > best.similarity)) best = { key, similarity };
      }
    }
    return best;
  }
}
