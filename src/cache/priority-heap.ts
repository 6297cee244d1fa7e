/**
 * An indexed binary min-heap of string keys: insert, update, remove and pop-min in O(log n), peek in O(1).
 * Ties in priority are broken by a second number, `age` (lowest first): the caches pass the tick of the last
 * access, so equal priorities evict the least recently used first, as GDSF prescribes (Cherkasova 1998) and as
 * the Redis tier's eviction script does.
 */
export class PriorityHeap {
  private readonly keys: string[] = [];
  private readonly priorities: number[] = [];
  private readonly ages: number[] = [];
  private readonly positions = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }

  has(key: string): boolean {
    return this.positions.has(key);
  }

  /** The age (tie-breaker) of `key`, undefined when absent. */
  ageOf(key: string): number | undefined {
    const at = this.positions.get(key);
    return at === undefined ? undefined : this.ages[at];
  }

  /** The priority of `key`, undefined when absent. */
  priorityOf(key: string): number | undefined {
    const at = this.positions.get(key);
    return at === undefined ? undefined : this.priorities[at];
  }

  /** Inserts `key` or moves it to `priority` (ties: lower `age` first). */
  set(key: string, priority: number, age = 0): void {
    const at = this.positions.get(key);
    if (at === undefined) {
      this.keys.push(key);
      this.priorities.push(priority);
      this.ages.push(age);
      this.positions.set(key, this.keys.length - 1);
      this.siftUp(this.keys.length - 1);
      return;
    }
    this.priorities[at] = priority;
    this.ages[at] = age;
    this.siftUp(at);
    this.siftDown(this.positions.get(key) as number);
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
    this.ages.pop();
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
    if (pi !== pj) return pi < pj;
    const ai = this.ages[i] as number;
    const aj = this.ages[j] as number;
    return ai < aj || (ai === aj && (this.keys[i] as string) < (this.keys[j] as string));
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
    const ai = this.ages[i] as number;
    this.ages[i] = this.ages[j] as number;
    this.ages[j] = ai;
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
