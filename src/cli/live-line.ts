/**
 * The embedded mode's live status on stderr: items, how each stage answers and defers, LLM calls against the
 * budget. On a terminal one line redrawn in place; elsewhere a line every few seconds (logs stay readable).
 */
import type { Cascade } from '../cascade/index.js';

export class LiveLine {
  rejected = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly tty: boolean;
  private lastItems = 0;
  private lastAt = performance.now();

  constructor(
    private readonly cascade: Cascade,
    private readonly out: NodeJS.WriteStream,
  ) {
    this.tty = out.isTTY === true;
    this.timer = setInterval(() => this.draw(), this.tty ? 500 : 5000).unref();
  }

  /** The current line's text. */
  text(): string {
    const c = this.cascade.counters;
    const n = Math.max(c.items, 1);
    const now = performance.now();
    const rate = ((c.items - this.lastItems) * 1000) / Math.max(now - this.lastAt, 1);
    this.lastItems = c.items;
    this.lastAt = now;
    const share = (x: number): string => `${((x / n) * 100).toFixed(0)}%`;
    const stages = Object.entries(c.deferredBy)
      .map(([stage, deferred]) => `${stage} answers ${share(c.answeredBy[stage as 'lr' | 'mid'] ?? 0)} defers ${share(deferred)}`)
      .join(' · ');
    const b = this.cascade.budgetStatus;
    return `items ${c.items} (${rate.toFixed(0)}/s) | ${stages} | LLM ${c.llmCalls} calls = ${(b.llmShare * 100).toFixed(1)}% of budget ${(b.target * 100).toFixed(0)}% | cache ${c.cacheHits} | rejects ${this.rejected}`;
  }

  stop(): void {
    clearInterval(this.timer);
    this.draw();
    if (this.tty) this.out.write('\n');
  }

  private draw(): void {
    const line = this.text();
    this.out.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
