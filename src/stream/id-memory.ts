/**
 * The ids of the items a worker took lately, so that an id is answered once: a second record carrying a
 * remembered id at another offset is a duplicate (a producer that sent it twice), while the same record seen
 * again (a batch refetched after a failed commit or a rebalance) is not.
 *
 * Bounded: least recently seen ids go first, within `capacity` ids of up to 64 bytes (a longer id counts for
 * more). In memory only: a restarted worker, or a partition moved to another worker, starts with none.
 */
import { LRUCache } from 'lru-cache';
import type { RecordOrigin } from './types.js';

/** Bytes an id of up to this length counts for; a longer one counts for its length plus the overhead. */
const ID_SLOT_BYTES = 64;
const OVERHEAD_BYTES = 32;

/** Where a remembered id was first seen. */
export interface FirstSeen {
  topic: string;
  partition: number;
  offset: string;
}

/** Remembers recent item ids and the record each came from. */
export class IdMemory {
  private readonly seen: LRUCache<string, FirstSeen>;

  /** @param capacity ids of up to 64 bytes remembered (≥ 1). */
  constructor(readonly capacity: number) {
    this.seen = new LRUCache<string, FirstSeen>({
      maxSize: capacity * (ID_SLOT_BYTES + OVERHEAD_BYTES),
      sizeCalculation: (_value, id) => Math.max(ID_SLOT_BYTES, id.length * 2) + OVERHEAD_BYTES,
    });
  }

  /**
   * Records that the record at `origin` carries `id`; returns where the id was seen before when that was
   * another record (a duplicate), undefined for a new id or the same record again.
   */
  claim(id: string, origin: RecordOrigin): FirstSeen | undefined {
    const before = this.seen.get(id);
    if (before !== undefined && !(before.topic === origin.topic && before.partition === origin.partition && before.offset === origin.offset)) return before;
    if (before === undefined) this.seen.set(id, { topic: origin.topic, partition: origin.partition, offset: origin.offset });
    return undefined;
  }

  /** Ids remembered now. */
  get size(): number {
    return this.seen.size;
  }
}
