/**
 * How much a deferral signal can know: measures of how well a score ranks the items on which the
 * deepest small stage disagrees with the LLM, and what deferring by it would buy. `npm run bench:signal`
 * (deferral-signal-bench.ts) applies them to the confidence signal (the threshold strategy's), the learned
 * policy's P(defer), and a logistic fitted in hindsight on every first-half label: an upper bound for any
 * linear deferral policy over the same features.
 */

/** ROC AUC of `scores` for the items marked `positive` (ties count half): P(score of a positive > score of a negative). */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number {
  if (scores.length !== positive.length) throw new RangeError(`${scores.length} scores for ${positive.length} outcomes`);
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  // Mann–Whitney: the positives' mean rank, with tied scores sharing their ranks' mean.
  let rankSum = 0;
  let positives = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && (order[end + 1] as readonly [number, number])[0] === (order[start] as readonly [number, number])[0]) end++;
    const rank = (start + end) / 2 + 1;
    for (let j = start; j <= end; j++) {
      if (positive[(order[j] as readonly [number, number])[1]] === true) {
        rankSum += rank;
        positives++;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('an AUC needs both outcomes');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * The stage's agreement with the LLM once the `k` highest-scored items are deferred to it (a deferred item
 * takes the LLM's answer, so it agrees; ties broken by position, earliest first).
 */
export function agreementAfterDeferring(scores: readonly number[], disagrees: readonly boolean[], k: number): number {
  const n = scores.length;
  if (n === 0) throw new RangeError('no items');
  const deferred = new Set(
    scores
      .map((s, i) => [s, i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, Math.max(0, k))
      .map(([, i]) => i),
  );
  let agreed = 0;
  for (let i = 0; i < n; i++) if (deferred.has(i) || disagrees[i] !== true) agreed++;
  return agreed / n;
}

export interface LogisticFitOptions {
  /** L2 penalty on the weights (not the bias). @defaultValue 1e-3 */
  l2?: number;
  /** Full-batch gradient steps. @defaultValue 500 */
  steps?: number;
  /** Step size on standardised features. @defaultValue 0.5 */
  learningRate?: number;
}

/**
 * A logistic regression fitted by full-batch gradient descent on standardised features (each column to
 * mean 0, variance 1 over the training rows). Returns the fitted P(y) for a row.
 */
export function fitLogistic(rows: readonly (readonly number[])[], y: readonly boolean[], options: LogisticFitOptions = {}): (row: readonly number[]) => number {
  const n = rows.length;
  if (n === 0 || n !== y.length) throw new RangeError(`${n} rows for ${y.length} outcomes`);
  const d = (rows[0] as readonly number[]).length;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d).fill(1);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (r[j] as number) / n;
  for (let j = 0; j < d; j++) {
    let v = 0;
    for (const r of rows) v += ((r[j] as number) - (mean[j] as number)) ** 2 / n;
    scale[j] = v > 1e-12 ? Math.sqrt(v) : 1;
  }
  const x = rows.map((r) => Float64Array.from(r, (v, j) => (v - (mean[j] as number)) / (scale[j] as number)));
  const w = new Float64Array(d);
  let bias = 0;
  const { l2 = 1e-3, steps = 500, learningRate = 0.5 } = options;
  const grad = new Float64Array(d);
  for (let step = 0; step < steps; step++) {
    grad.fill(0);
    let gBias = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i] as Float64Array;
      const err = sigmoid(bias + dot(w, xi)) - (y[i] === true ? 1 : 0);
      gBias += err / n;
      for (let j = 0; j < d; j++) grad[j] = (grad[j] as number) + (err * (xi[j] as number)) / n;
    }
    bias -= learningRate * gBias;
    for (let j = 0; j < d; j++) w[j] = (w[j] as number) - learningRate * ((grad[j] as number) + l2 * (w[j] as number));
  }
  return (row) =>
    sigmoid(
      bias +
        dot(
          w,
          Float64Array.from(row, (v, j) => (v - (mean[j] as number)) / (scale[j] as number)),
        ),
    );
}

/** One operating point of a binary task: the small stage says positive at P ≥ `cut`, the LLM answers `deferred` items. */
export interface RecallPoint {
  accuracy: number;
  recall: number;
  cut: number;
}

/**
 * The best accuracy (against the gold labels) any cut on the stage's P(positive) reaches with the label's
 * recall at or above `floor`, when `budget` × n items go to the LLM (its answers in `teacher`, -1 where it
 * gave none: the stage's answer stands) — placed, in hindsight, on the items nearest the cut on either side
 * in the best of five proportions. `best` is undefined when no cut reaches the floor; `maxRecall` is the
 * highest recall any of them reaches. An upper bound for any deferral of these scores: the cut and the
 * placement are chosen knowing the gold labels.
 */
export function recallFrontier(
  pPositive: readonly number[],
  gold: readonly number[],
  teacher: readonly number[],
  positive: number,
  budget: number,
  floor: number,
): { best: RecallPoint | undefined; maxRecall: number } {
  const n = pPositive.length;
  const positives = gold.filter((g) => g === positive).length;
  if (n === 0 || positives === 0) throw new RangeError('a recall frontier needs items of the label');
  const k = Math.round(budget * n);
  const sorted = [...pPositive].sort((a, b) => a - b);
  const byScore = pPositive.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let best: RecallPoint | undefined;
  let maxRecall = 0;
  for (let q = 0; q <= 100; q++) {
    const cut = sorted[Math.min(n - 1, Math.floor((q / 100) * n))] as number;
    // Index of the first item at or above the cut, in score order.
    const split = byScore.findIndex(([p]) => p >= cut);
    for (const below of [0, 0.25, 0.5, 0.75, 1]) {
      const deferred = new Set<number>();
      const nBelow = Math.min(split, Math.round(below * k));
      for (let j = split - 1; j >= split - nBelow; j--) deferred.add((byScore[j] as readonly [number, number])[1]);
      for (let j = split; j < n && deferred.size < k; j++) deferred.add((byScore[j] as readonly [number, number])[1]);
      let correct = 0;
      let found = 0;
      for (let i = 0; i < n; i++) {
        const own = (pPositive[i] as number) >= cut ? positive : -1;
        const llm = deferred.has(i) ? (teacher[i] as number) : -1;
        const said = llm >= 0 ? llm : own;
        const g = gold[i] as number;
        if (said === g || (said !== positive && g !== positive)) correct++;
        if (g === positive && said === positive) found++;
      }
      const point = { accuracy: correct / n, recall: found / positives, cut };
      maxRecall = Math.max(maxRecall, point.recall);
      if (point.recall >= floor && (best === undefined || point.accuracy > best.accuracy)) best = point;
    }
  }
  return { best, maxRecall };
}

function dot(w: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < w.length; j++) s += (w[j] as number) * (x[j] as number);
  return s;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
