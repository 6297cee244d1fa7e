/**
 * The in-process tier (L1): a map bounded by a byte budget (and optionally an entry count), evicting by the
 * configured policy through an indexed heap, so a set costs O(log n) however full the cache is.
 */
import { encodeAnswer, entrySizeBytes } from './entry.js';
import { FrequencySketch } from './frequency-sketch.js';
import { DEFAULT_LEC_HALF_LIFE_ACCESSES, type EvictionPolicy, type PolicyClock } from './policies/index.js';
import { PriorityHeap } from './priority-heap.js';
import type { CachedAnswer } from './types.js';

/** Smallest cost an entry is charged at, cost units. */
export const MIN_COST_UNITS = 1e-6;

/** An entry as the memory cache keeps it. */
export interface MemoryEntry {
  answer: CachedAnswer;
  /** What a miss would cost, cost units (the eviction cost). */
  costUnits: number;
  frequency: number;
  sizeBytes: number;
}

export interface MemoryCacheOptions {
  /** Byte budget (accounted sizes, see entry.ts). */
  maxBytes: number;
  /** Optional bound on the entry count too (benchmarks size caches in entries). */
  maxEntries?: number;
  policy: EvictionPolicy;
  /** Width of the lookup-history sketch of history-aware policies (LEC). @defaultValue 65536 */
  historyWidth?: number;
  /** Half-life of the lookup history, lookups. @defaultValue 20000 */
  historyHalfLife?: number;
  /** Called with each evicted key (the near-duplicate index forgets it). */
  onEvict?: (key: string) => void;
}

/** L1: keys are already hashed cache keys (see normalize.ts). Synchronous; never throws for a full cache. */
export class MemoryCache {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly heap = new PriorityHeap();
  private readonly state: PolicyClock = { tick: 0, clock: 0 };
  private totalBytes = 0;
  private evictionCount = 0;
  private readonly history: FrequencySketch | undefined;

  constructor(private readonly options: MemoryCacheOptions) {
    this.history = options.policy.usesHistory
      ? new FrequencySketch(options.historyWidth ?? 65_536, options.historyHalfLife ?? DEFAULT_LEC_HALF_LIFE_ACCESSES)
      : undefined;
  }

  /** Accounted bytes in use. */
  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Estimated lookups of `key` so far (0 unless the policy keeps a history). */
  priorAccesses(key: string): number {
    return this.history?.estimate(key) ?? 0;
  }

  /** Entries evicted so far. */
  get evictions(): number {
    return this.evictionCount;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The entry under `key`, counting the access (frequency, recency); undefined on a miss. */
  get(key: string): MemoryEntry | undefined {
    this.history?.add(key);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.touch(key, entry);
    return entry;
  }

  /**
   * Stores an answer; `costUnits` is what a miss would cost (defaults to the answer's cost). Replacing an entry
   * keeps its frequency and counts as an access. Returns false when the entry alone exceeds the budget.
   */
  set(key: string, answer: CachedAnswer, costUnits: number = answer.costUnits): boolean {
    const sizeBytes = entrySizeBytes(key, encodeAnswer(answer));
    if (sizeBytes > this.options.maxBytes) return false;
    const previous = this.entries.get(key);
    if (previous !== undefined) this.totalBytes -= previous.sizeBytes;
    // A zero or negative cost would make LEC's log2 undefined and GDSF's priority meaningless.
    const entry: MemoryEntry = { answer, costUnits: Math.max(costUnits, MIN_COST_UNITS), frequency: previous?.frequency ?? 0, sizeBytes };
    this.entries.set(key, entry);
    this.totalBytes += sizeBytes;
    this.touch(key, entry, previous === undefined);
    this.evictOverflow();
    return true;
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.heap.delete(key);
    this.totalBytes -= entry.sizeBytes;
    return true;
  }

  /** Keys from the next to be evicted to the last (O(n log n); for tests and diagnostics). */
  evictionOrder(): string[] {
    return [...this.entries.keys()].sort((a, b) => this.compare(a, b));
  }

  private touch(key: string, entry: MemoryEntry, isNew = false): void {
    this.state.tick += 1;
    entry.frequency = isNew ? this.options.policy.bump(undefined, this.state, this.priorAccesses(key)) : this.options.policy.bump(entry.frequency, this.state);
    this.heap.set(key, this.options.policy.priority(entry, this.state), this.state.tick);
  }

  private evictOverflow(): void {
    const maxEntries = this.options.maxEntries ?? Number.POSITIVE_INFINITY;
    while (this.totalBytes > this.options.maxBytes || this.entries.size > maxEntries) {
      const victim = this.heap.pop();
      if (victim === undefined) return;
      const entry = this.entries.get(victim.key);
      this.entries.delete(victim.key);
      this.totalBytes -= entry?.sizeBytes ?? 0;
      this.state.clock = victim.priority;
      this.evictionCount += 1;
      this.options.onEvict?.(victim.key);
    }
  }

  private compare(a: string, b: string): number {
    // The heap's order: priority, then the tick of the last access.
    const pa = this.heap.priorityOf(a) ?? Number.NaN;
    const pb = this.heap.priorityOf(b) ?? Number.NaN;
    return pa !== pb ? pa - pb : (this.heap.ageOf(a) ?? 0) - (this.heap.ageOf(b) ?? 0);
  }
}
