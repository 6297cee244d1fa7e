/**
 * Judges a run against quality targets the way a user would: consecutive windows of `window` items in stream
 * order, each against the recorded LLM answer of every item (items it could not parse left out). A window is
 * violated when any target misses. Beside the run's own LLM share (audits included), the hindsight share: per
 * window, the LLM share of the best single threshold on the items' deferral scores, chosen knowing the LLM's
 * answers — what an oracle certifying each window after the fact would have paid.
 */
import type { Annotation } from '../../src/cascade/index.js';
import { lossOf, type QualityTarget } from '../../src/quality/index.js';
import type { LabelledItem } from './labelled-stream.js';

/** The `quality` object of a bench result. */
export interface QualityReport {
  target: string;
  delta: number;
  window: number;
  windows: number;
  windows_violated: number;
  violation_rate: number;
  llm_share: number;
  audit_share: number;
  hindsight_share: number;
}

/** What a window's judge reads of an item. */
export interface Judged {
  published: number;
  llm: number;
  /** The deepest small stage's deferral score and answer; undefined: no stage ran (a cache hit). */
  score?: number;
  small?: number;
}

/** Whether every target holds on `items`, each item publishing `publish(item)`. */
function holds(targets: readonly QualityTarget[], items: readonly Judged[], publish: (item: Judged) => number): boolean {
  if (items.length === 0) return true;
  return targets.every((t) => {
    let loss = 0;
    for (const item of items) loss += lossOf(t, publish(item), item.llm);
    return loss / items.length <= 1 - t.value + 1e-12;
  });
}

/**
 * The hindsight share of one window: the fewest items sent to the LLM by one threshold on the scores such that
 * every target holds (candidates: every score in the window, and sending none or all).
 */
export function hindsightShare(targets: readonly QualityTarget[], items: readonly Judged[]): number {
  if (items.length === 0) return 0;
  const scores = [...new Set(items.flatMap((i) => (i.score === undefined ? [] : [i.score])))].sort((a, b) => b - a);
  // From sending none (t = +∞) towards sending all: the first threshold that holds is the cheapest.
  for (const t of [Number.POSITIVE_INFINITY, ...scores, Number.NEGATIVE_INFINITY]) {
    const sent = (i: Judged): boolean => i.score === undefined || i.score > t;
    if (holds(targets, items, (i) => (sent(i) ? i.llm : (i.small as number))))
      return items.filter((i) => i.score !== undefined && i.score > t).length / items.length;
  }
  return 1;
}

/** Judges `annotations` (in stream order, one per item of `stream`) against `targets` over windows of `window` items. */
export function judgeQuality(
  annotations: readonly Annotation[],
  stream: readonly LabelledItem[],
  teacher: string,
  targets: readonly QualityTarget[],
  options: { window: number; delta: number },
): QualityReport {
  const byId = new Map(stream.map((r) => [r.id, r]));
  // Aligned with `annotations`: undefined where the LLM's recorded answer is unparseable.
  const judged: Array<Judged | undefined> = [];
  let calls = 0;
  let audits = 0;
  for (const a of annotations) {
    if (a.llmSource === 'call' && a.reason !== 'shared') calls++;
    if (a.reason === 'audit') audits++;
    const llm = byId.get(a.id)?.llm[teacher] ?? -1;
    // The deepest small stage's trace (the LLM's, when it answered, is appended after it).
    const last = a.stages.findLast((t) => t.stage !== 'llm');
    judged.push(llm < 0 ? undefined : { published: a.labelId, llm, ...(last === undefined ? {} : { score: last.pDefer, small: last.labelId }) });
  }
  let windows = 0;
  let violated = 0;
  let hindsight = 0;
  // Windows by position in the stream; the last, partial window is not judged.
  for (let start = 0; start + options.window <= judged.length; start += options.window) {
    const items = judged.slice(start, start + options.window).filter((j): j is Judged => j !== undefined);
    windows++;
    if (!holds(targets, items, (i) => i.published)) violated++;
    hindsight += hindsightShare(targets, items);
  }
  const n = Math.max(1, annotations.length);
  return {
    target: targets.map((t) => t.text).join(','),
    delta: options.delta,
    window: options.window,
    windows,
    windows_violated: violated,
    violation_rate: windows === 0 ? 0 : violated / windows,
    llm_share: calls / n,
    audit_share: audits / n,
    hindsight_share: windows === 0 ? 0 : hindsight / windows,
  };
}
