/**
 * The published points we compare against: Nie et al., ICML 2024, Table results as transcribed in
 * ../shared/datasets/README.md (GPT-3.5 teacher, a seeded random 50% of each stream, pretrained BERT-base
 * as the mid model). Accuracy in %, at a share of the stream sent to the LLM.
 */
export interface PaperPoint {
  llmShare: number;
  accuracy: number;
  /** Hate recall, where reported. */
  positiveRecall?: number;
  /** The strongest baseline in the paper at that point. */
  baseline: number;
}

export const PAPER_RESULTS: Readonly<Record<string, { llmAlone: number; points: PaperPoint[] }>> = {
  isear: {
    llmAlone: 70.34,
    points: [
      { llmShare: 0.313, accuracy: 60.78, baseline: 56.56 },
      { llmShare: 0.391, accuracy: 65.34, baseline: 60.42 },
      { llmShare: 0.704, accuracy: 69.75, baseline: 61.78 },
    ],
  },
  hatespeech: {
    llmAlone: 83.34,
    points: [
      { llmShare: 0.112, accuracy: 82.66, positiveRecall: 82.36, baseline: 82.61 },
      { llmShare: 0.505, accuracy: 85.35, positiveRecall: 77.2, baseline: 77.48 },
      { llmShare: 0.916, accuracy: 83.26, positiveRecall: 81.03, baseline: 81.55 },
    ],
  },
};

/** The paper's point for a task at a budget (within half a percentage point), if any. */
export function paperPoint(taskName: string, budget: number): PaperPoint | undefined {
  return PAPER_RESULTS[taskName]?.points.find((p) => Math.abs(p.llmShare - budget) < 0.005);
}
