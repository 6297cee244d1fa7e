/**
 * An indexed binary min-heap of string keys: insert, update, remove and pop-min in O(log n), peek in O(1).
 * Ties are broken by key (lexicographic), as a Redis sorted set breaks them, so both cache tiers evict alike.
 */
export class PriorityHeap {
  private readonly keys: string[] = [];
  private readonly priorities: number[] = [];
  private readonly positions = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }

  has(key: string): boolean {
    return this.positions.has(key);
  }

  /** The priority of `key`, undefined when absent. */
  priorityOf(key: string): number | undefined {
    const at = this.positions.get(key);
    return at === undefined ? undefined : this.priorities[at];
  }

  /** Inserts `key` or moves it to `priority`. */
  set(key: string, priority: number): void {
    const at = this.positions.get(key);
    if (at === undefined) {
      this.keys.push(key);
      this.priorities.push(priority);
      this.positions.set(key, this.keys.length - 1);
      this.siftUp(this.keys.length - 1);
      return;
    }
    const old = this.priorities[at] as number;
    this.priorities[at] = priority;
    if (priority < old) this.siftUp(at);
    else this.siftDown(at);
  }

  /** The lowest-priority key and its priority, without removing it. */
  peek(): { key: string; priority: number } | undefined {
    const key = this.keys[0];
    return key === undefined ? undefined : { key, priority: this.priorities[0] as number };
  }

  /** Removes and returns the lowest-priority key. */
  pop(): { key: string; priority: number } | undefined {
    const top = this.peek();
    if (top !== undefined) this.delete(top.key);
    return top;
  }

  /** Removes `key`; false when absent. */
  delete(key: string): boolean {
    const at = this.positions.get(key);
    if (at === undefined) return false;
    const last = this.keys.length - 1;
    this.swap(at, last);
    this.keys.pop();
    this.priorities.pop();
    this.positions.delete(key);
    if (at < last) {
      this.siftUp(at);
      this.siftDown(at);
    }
    return true;
  }

  private less(i: number, j: number): boolean {
    const pi = this.priorities[i] as number;
    const pj = this.priorities[j] as number;
    return pi < pj || (pi === pj && (this.keys[i] as string) < (this.keys[j] as string));
  }

  private swap(i: number, j: number): void {
    if (i === j) return;
    const ki = this.keys[i] as string;
    const kj = this.keys[j] as string;
    this.keys[i] = kj;
    this.keys[j] = ki;
    const pi = this.priorities[i] as number;
    this.priorities[i] = this.priorities[j] as number;
    this.priorities[j] = pi;
    this.positions.set(kj, i);
    this.positions.set(ki, j);
  }

  private siftUp(i: number): void {
    let at = i;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.less(at, parent)) return;
      this.swap(at, parent);
      at = parent;
    }
  }

  private siftDown(i: number): void {
    let at = i;
    const n = this.keys.length;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let min = at;
      if (left < n && this.less(left, min)) min = left;
      if (right < n && this.less(right, min)) min = right;
      if (min === at) return;
      this.swap(at, min);
      at = min;
    }
  }
}
