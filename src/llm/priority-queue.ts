/**
 * A binary max-heap of entries ordered by a fixed numeric key (highest first; ties: first in, first out).
 * The LLM scheduler's aging makes a key time-dependent, but every waiting entry ages at the same rate, so
 * `score + waitedMs / agingMs` orders entries exactly like the fixed key `score − enqueuedAtMs / agingMs`.
 */
export class PriorityQueue<T> {
  private heap: Array<{ key: number; seq: number; value: T }> = [];
  private seq = 0;

  /** Entries waiting. */
  get size(): number {
    return this.heap.length;
  }

  push(value: T, key: number): void {
    this.heap.push({ key, seq: this.seq++, value });
    this.up(this.heap.length - 1);
  }

  /** The highest-key entry, removed; undefined when empty. */
  pop(): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop() as (typeof this.heap)[number];
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top.value;
  }

  peek(): T | undefined {
    return this.heap[0]?.value;
  }

  /** Removes every entry for which `drop` returns true (O(n), then re-heapified). */
  removeWhere(drop: (value: T) => boolean): T[] {
    const removed: T[] = [];
    const kept = this.heap.filter((e) => (drop(e.value) ? (removed.push(e.value), false) : true));
    if (removed.length === 0) return removed;
    this.heap = kept;
    for (let i = (kept.length >> 1) - 1; i >= 0; i--) this.down(i);
    return removed;
  }

  /** Entries from highest to lowest key (a sorted copy; the queue is unchanged). */
  ranked(): T[] {
    return [...this.heap].sort((a, b) => this.cmp(b, a)).map((e) => e.value);
  }

  private cmp(a: { key: number; seq: number }, b: { key: number; seq: number }): number {
    // > 0 when a ranks above b.
    return a.key !== b.key ? a.key - b.key : b.seq - a.seq;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(h[i] as never, h[p] as never) <= 0) break;
      [h[i], h[p]] = [h[p] as never, h[i] as never];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < h.length && this.cmp(h[l] as never, h[best] as never) > 0) best = l;
      if (r < h.length && this.cmp(h[r] as never, h[best] as never) > 0) best = r;
      if (best === i) return;
      [h[i], h[best]] = [h[best] as never, h[i] as never];
      i = best;
    }
  }
}
