/**
 * Bounds the items in flight across all partitions of one worker (kafka.maxInFlight). A batch whose
 * next item finds no free slot waits, which stops that partition: kafkajs fetches again only once
 * every batch of the previous fetch is handled, so a full limiter pauses fetching (backpressure).
 */
export class InFlightLimiter {
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  /** Items currently holding a slot. */
  get size(): number {
    return this.inFlight;
  }

  /** Takes a slot at once when one is free (the common case: no promise, no microtask). */
  tryAcquire(): boolean {
    if (this.inFlight >= this.capacity) return false;
    this.inFlight += 1;
    return true;
  }

  /** Takes a slot, waiting in FIFO order when none is free. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Frees a slot, handing it straight to the longest waiter. */
  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.inFlight -= 1;
  }
}
