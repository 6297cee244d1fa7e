/**
 * A bounded ring of {@link HistoryPoint}s, sampled from /status every few seconds, so the dashboard can draw
 * the recent past when it opens and the terminal view its sparklines. Memory is capacity × one small object.
 */
import type { HistoryPoint, Status } from './status.js';

/** Builds the chart point of one /status snapshot taken at `t`. */
export function historyPoint(status: Status, t: number): HistoryPoint {
  const minute = status.windows['1m'];
  const quarter = status.windows['15m'];
  const all = status.windows.all;
  const deferralRate: HistoryPoint['deferralRate'] = {};
  const agreement: HistoryPoint['agreement'] = {};
  for (const stage of status.stageOrder) {
    deferralRate[stage] = minute.stages[stage]?.deferralRate ?? null;
    const q = quarter.stages[stage];
    if (stage !== 'llm' && q !== undefined) agreement[stage] = q.agreement;
  }
  return {
    t,
    items: all.items,
    deferralRate,
    llmCallsPerMinute: minute.llm.callsPerMinute,
    costSaved: all.cost.saved,
    costSavedRatio: all.cost.savedRatio,
    agreement,
  };
}

/** The last `capacity` points, oldest first. */
export class StatusHistory {
  private readonly points: HistoryPoint[] = [];
  private start = 0;

  /** @param capacity - points kept. @defaultValue 900 (30 min at one point per 2 s) */
  constructor(private readonly capacity = 900) {
    if (!(capacity >= 1)) throw new RangeError(`StatusHistory capacity must be ≥ 1, got ${capacity}`);
  }

  push(point: HistoryPoint): void {
    if (this.points.length < this.capacity) {
      this.points.push(point);
    } else {
      this.points[this.start] = point;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Points newer than `sinceMs` (all when omitted), oldest first. */
  since(sinceMs = Number.NEGATIVE_INFINITY): HistoryPoint[] {
    const ordered = [...this.points.slice(this.start), ...this.points.slice(0, this.start)];
    return ordered.filter((p) => p.t > sinceMs);
  }

  get size(): number {
    return this.points.length;
  }
}
