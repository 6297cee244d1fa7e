/**
 * Quality targets, as users write them: `agreement>=0.95`, `recall:hate>=0.9`, `precision:hate>=0.8`, judged
 * against the LLM's answers. Each target reduces to one mean to bound: a target holds when the mean of a
 * per-item loss in [0, 1] is at most `1 − value` (see `lossOf`), which keeps the ratio metrics (recall,
 * precision) a single anytime-valid bound instead of a ratio of two.
 */
import { ConfigError } from '../errors.js';

export type QualityMetric = 'agreement' | 'recall' | 'precision';

export interface QualityTarget {
  /** As written, e.g. `recall:hate>=0.9`: the name it is reported under. */
  text: string;
  metric: QualityMetric;
  /** The label a recall or precision target is about (its id in the task's label list). */
  labelId?: number;
  /** The lowest acceptable value, in (0, 1). */
  value: number;
}

const TARGET = /^(agreement|recall|precision)(?::(.+))?\s*>=\s*([0-9]*\.?[0-9]+)$/;

/**
 * Parses targets given as a list or one comma-separated string. `source` names where they came from (a flag
 * or config key) in the error; labels are checked against the task's (`labels` undefined: the syntax only,
 * for a flag read before the task is known).
 * @throws ConfigError naming `source` for a malformed target, an unknown label or a value outside (0, 1).
 */
export function parseQualityTargets(input: string | readonly string[], labels: readonly string[] | undefined, source = 'quality.targets'): QualityTarget[] {
  const parts = (typeof input === 'string' ? input.split(',') : input.flatMap((s) => s.split(','))).map((s) => s.trim()).filter(Boolean);
  const fail = (message: string, value: string): never => {
    throw new ConfigError([{ key: source, message, value }]);
  };
  const targets = parts.map((text): QualityTarget => {
    const m = TARGET.exec(text);
    if (m === null) return fail(`malformed quality target "${text}": expected agreement>=V, recall:<label>>=V or precision:<label>>=V`, text);
    const metric = m[1] as QualityMetric;
    const label = m[2]?.trim();
    const value = Number(m[3]);
    if (!(value > 0 && value < 1)) fail(`quality target "${text}": the value must be in (0, 1)`, text);
    if (metric === 'agreement') {
      if (label !== undefined) fail(`quality target "${text}": agreement takes no label`, text);
      return { text, metric, value };
    }
    if (label === undefined || label === '')
      return fail(`quality target "${text}": ${metric} needs a label, e.g. ${metric}:${labels?.[0] ?? 'label'}>=${value}`, text);
    if (labels === undefined) return { text, metric, value };
    const labelId = labels.indexOf(label);
    if (labelId < 0) fail(`quality target "${text}": unknown label "${label}" (the task's labels: ${labels.join(', ')})`, text);
    return { text, metric, labelId, value };
  });
  const seen = new Set<string>();
  for (const t of targets) {
    const key = t.text.replace(/\s*>=.*$/, '');
    if (seen.has(key)) fail(`quality target "${t.text}" is given twice`, t.text);
    seen.add(key);
  }
  return targets;
}

/**
 * The item's loss under `target` when `published` is the label published and `llm` the LLM's answer: the
 * target holds when the mean loss is at most `1 − value`.
 * - agreement: 1 when the published label differs from the LLM's.
 * - recall:c ≥ v ⇔ P(llm = c, published ≠ c) ≤ (1 − v) P(llm = c) ⇔ E[1{llm = c}(1{published ≠ c} − (1 − v))] ≤ 0;
 *   shifted by 1 − v into [0, 1]: 1 for a missed c, 0 for a found c, 1 − v for any other item.
 * - precision:c likewise with the roles swapped: 1 for a published c the LLM did not give, 0 for a right one.
 */
export function lossOf(target: QualityTarget, published: number, llm: number): number {
  const slack = 1 - target.value;
  switch (target.metric) {
    case 'agreement':
      return published === llm ? 0 : 1;
    case 'recall':
      return llm !== target.labelId ? slack : published === target.labelId ? 0 : 1;
    case 'precision':
      return published !== target.labelId ? slack : llm === target.labelId ? 0 : 1;
  }
}

/**
 * The metric's value implied by a mean loss `meanLoss` when the label's share is `share` (P(llm = c) for
 * recall, P(published = c) for precision; unused for agreement): inverts `lossOf`'s shift, so a bound on the
 * loss reads as a bound on the metric.
 */
export function metricFromLoss(target: QualityTarget, meanLoss: number, share: number): number {
  if (target.metric === 'agreement') return 1 - meanLoss;
  if (!(share > 0)) return meanLoss <= 1 - target.value ? 1 : 0;
  // meanLoss = (1 − v)(1 − s) + s · missRate  ⇒  metric = 1 − missRate.
  const miss = (meanLoss - (1 - target.value) * (1 - share)) / share;
  return Math.max(0, Math.min(1, 1 - miss));
}
