/** Quality figures of a run against gold labels and against the LLM's recorded answers. */

export interface ClassificationReport {
  accuracy: number;
  macroF1: number;
  balancedAccuracy: number;
  /** Recall per class, by label id. */
  recall: number[];
  /** Share of items whose answer equals the LLM's recorded answer (items the LLM could not answer excluded). */
  agreement: number;
  /** For tasks with a positive class: its recall, precision and F1. */
  positive?: { recall: number; precision: number; f1: number };
}

/** Builds the report from parallel arrays of predictions, gold labels and LLM answers (-1: none). */
export function classificationReport(
  predicted: readonly number[],
  gold: readonly number[],
  llm: readonly number[],
  classes: number,
  positiveLabel?: number,
): ClassificationReport {
  const tp = new Array<number>(classes).fill(0);
  const predCount = new Array<number>(classes).fill(0);
  const goldCount = new Array<number>(classes).fill(0);
  let correct = 0;
  let agree = 0;
  let llmAnswered = 0;
  predicted.forEach((p, i) => {
    const g = gold[i] as number;
    if (p >= 0 && p < classes) predCount[p] = (predCount[p] as number) + 1;
    goldCount[g] = (goldCount[g] as number) + 1;
    if (p === g) {
      correct++;
      tp[g] = (tp[g] as number) + 1;
    }
    const l = llm[i] as number;
    if (l >= 0) {
      llmAnswered++;
      if (l === p) agree++;
    }
  });
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  const recall = tp.map((t, k) => ratio(t, goldCount[k] as number));
  const precision = tp.map((t, k) => ratio(t, predCount[k] as number));
  const f1 = recall.map((r, k) => ratio(2 * r * (precision[k] as number), r + (precision[k] as number)));
  const present = goldCount
    .map((c, k) => [c, k] as const)
    .filter(([c]) => c > 0)
    .map(([, k]) => k);
  const mean = (xs: number[]): number =>
    ratio(
      xs.reduce((a, b) => a + b, 0),
      xs.length,
    );
  const report: ClassificationReport = {
    accuracy: ratio(correct, predicted.length),
    macroF1: mean(present.map((k) => f1[k] as number)),
    balancedAccuracy: mean(present.map((k) => recall[k] as number)),
    recall,
    agreement: ratio(agree, llmAnswered),
  };
  if (positiveLabel !== undefined) {
    report.positive = { recall: recall[positiveLabel] ?? 0, precision: precision[positiveLabel] ?? 0, f1: f1[positiveLabel] ?? 0 };
  }
  return report;
}
