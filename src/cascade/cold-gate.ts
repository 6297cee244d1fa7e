/**
 * Input backpressure during a cold start. While the deepest small stage is cold, an item the budget
 * cannot send to the LLM has no answer we could stand behind: without the gate it goes out at once flagged
 * `cold`, and a backlog poured in faster than the LLM answers goes out mostly so. The gate holds such items
 * instead, while LLM answers are on their way to warm the stage. Held items keep their pipeline slots, so the
 * window fills and the source pauses (Kafka partitions stop, the file stops being read): the backlog waits
 * where it was, and the held items are answered by the stage once it has earned it.
 *
 * An item is held at most `maxWaitMs` (`llm.coldWaitMs`), only while its stage may still warm soon, and only
 * while some LLM answer is on its way (else nothing could warm the stage): a stage that never earns its place
 * slows the stream for a bounded warm-up, not for ever. One timer serves every held item (a backlog may hold
 * thousands).
 */

/** What the gate reads from the LLM scheduler. */
export interface ColdGateQueue {
  /** True while LLM answers are on their way: items queued or requests in flight. */
  readonly busy: boolean;
}

export interface ColdGateOptions {
  queue: ColdGateQueue;
  /** Called when the gate starts holding items (none were held before). */
  onHold?: () => void;
  /** How often held items are reviewed, ms. @defaultValue 50 */
  tickMs?: number;
  now?: () => number;
}

interface HeldItem {
  since: number;
  untilMs: number;
  /** True while the item's stage is cold but may still warm soon (and the service runs). */
  warming: () => boolean;
  release: (waitedMs: number) => void;
}

export class ColdGate {
  private readonly opts: ColdGateOptions;
  private readonly now: () => number;
  private held: HeldItem[] = [];
  private timer: NodeJS.Timeout | undefined;
  private heldTotal = 0;

  constructor(options: ColdGateOptions) {
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
  }

  /** Items held right now. */
  get size(): number {
    return this.held.length;
  }

  /** Items ever held (an item let straight through is not counted). */
  get totalHeld(): number {
    return this.heldTotal;
  }

  /**
   * Resolves with the ms waited: at once (0) when no LLM answer is on its way, else once `warming()` turns
   * false (the stage warmed, or will not soon), no answer is on its way any more, or `maxWaitMs` runs out.
   */
  wait(warming: () => boolean, maxWaitMs: number): Promise<number> {
    if (!this.opts.queue.busy || maxWaitMs <= 0 || !warming()) return Promise.resolve(0);
    const since = this.now();
    this.heldTotal++;
    if (this.held.length === 0) this.opts.onHold?.();
    return new Promise((resolve) => {
      this.held.push({ since, untilMs: since + maxWaitMs, warming, release: resolve });
      this.timer ??= setInterval(() => this.tick(), this.opts.tickMs ?? 50);
    });
  }

  /** Releases every held item (shutdown). */
  releaseAll(): void {
    const held = this.held;
    this.held = [];
    const t = this.now();
    for (const item of held) item.release(t - item.since);
    this.stopTimer();
  }

  private tick(): void {
    const t = this.now();
    const busy = this.opts.queue.busy;
    const keep: HeldItem[] = [];
    for (const item of this.held) {
      if (!busy || t >= item.untilMs || !item.warming()) item.release(t - item.since);
      else keep.push(item);
    }
    this.held = keep;
    if (this.held.length === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
