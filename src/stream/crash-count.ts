/**
 * Consumer crashes in a row, as `kafka.maxRestarts` counts them. Progress (a committed batch, a label handed
 * over) starts a new count, and so does a crash that comes a minute or more after the one before: a consumer on
 * an idle topic makes no progress, and the broker blips of a week must not add up to giving up. A broker that
 * stays down crashes a consumer every ~30 s (kafkajs' connection retries), so those still add up.
 */

/** A crash this long after the previous one is the first of a new run. */
const QUIET_MS = 60_000;

/** Pause before the consumer that replaces a crashed one: 300 ms doubled per crash in a row, at most 10 s. */
const FIRST_PAUSE_MS = 300;
const MAX_PAUSE_MS = 10_000;

export class CrashCount {
  private inARow = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxRestarts: number) {}

  /** Counts a crash; true while another restart is allowed. */
  crashed(now = Date.now()): boolean {
    if (now - this.lastAt >= QUIET_MS) this.inARow = 0;
    this.lastAt = now;
    this.inARow += 1;
    return this.inARow <= this.maxRestarts;
  }

  /** The consumer made progress: the crashes before it no longer count. */
  progressed(): void {
    this.inARow = 0;
  }

  /** Crashes in the current run. */
  get count(): number {
    return this.inARow;
  }

  /** How long to wait before starting the consumer that replaces the last crashed one. */
  get pauseMs(): number {
    return Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** this.inARow);
  }
}
